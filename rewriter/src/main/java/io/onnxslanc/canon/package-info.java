/**
 * A read-only canonical view of the graph for matching (constant folding, shape arithmetic); the rules are in
 * docs/canonical-form.md.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.canon;

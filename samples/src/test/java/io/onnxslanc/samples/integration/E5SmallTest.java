package io.onnxslanc.samples.integration;

import io.onnxslanc.samples.SampleModels;

/** {@link RealEncoderTest} on e5-small-v2. */
class E5SmallTest extends RealEncoderTest {
    E5SmallTest() {
        super(SampleModels.E5_SMALL);
    }
}

package io.onnxslanc.samples.integration;

import io.onnxslanc.samples.SampleModels;

/** {@link RealEncoderTest} on bge-small-en-v1.5. */
class BgeSmallTest extends RealEncoderTest {
    BgeSmallTest() {
        super(SampleModels.BGE_SMALL);
    }
}

package io.onnxslanc.check.ep;

/** CUDA was asked for without a CPU fallback, and ONNX Runtime could not load its CUDA provider. */
public final class CudaUnavailableException extends IllegalStateException {
    public CudaUnavailableException(String ortMessage, Throwable cause) {
        super("CUDA execution provider could not be loaded: " + ortMessage.strip()
                + ". It needs the GPU build of ONNX Runtime (artifact com.microsoft.onnxruntime:onnxruntime_gpu; "
                + "build this project with 'mvn -Pcuda package') and CUDA 12 with cuDNN 9 on the library path "
                + "(LD_LIBRARY_PATH). To continue on the CPU instead, ask for 'cuda,cpu'.", cause);
    }
}

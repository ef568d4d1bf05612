/**
 * Llama-architecture ONNX models written directly with the ONNX protobuf builders:
 * {@link io.onnxslanc.samples.llama.Llama2cImporter} converts a llama2.c checkpoint (e.g. stories260K),
 * {@link io.onnxslanc.samples.llama.SyntheticLlama} generates labelled random-weight models of any shape
 * (up to Llama-2-7B, streamed into one external data file). Both share
 * {@code LlamaGraphBuilder}: input_ids [batch, seq] -> logits [batch, seq, vocab], opset 17, RMSNorms
 * written in one of the {@link io.onnxslanc.samples.llama.NormStyle}s, optional KV cache.
 */
package io.onnxslanc.samples.llama;

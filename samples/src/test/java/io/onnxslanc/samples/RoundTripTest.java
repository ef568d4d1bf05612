package io.onnxslanc.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real MiniLM encoder survives read -> IR -> write, inline and with external data, bit for bit in ONNX Runtime. */
class RoundTripTest {
    // WordPiece ids (bert-base-uncased vocabulary) of "the cat sat on the mat" and "a quick brown fox jumps"
    static final long[] CAT = {101, 1996, 4937, 2938, 2006, 1996, 13523, 102};
    static final long[] FOX = {101, 1037, 4248, 2829, 4419, 14523, 102};

    @TempDir
    Path tmp;

    @Test
    void inlineRoundTripGivesBitIdenticalOutputs() throws Exception {
        Path original = SampleModels.MINILM.model();
        Path copy = tmp.resolve("copy.onnx");
        ModelWriter.write(ModelReader.read(original), copy);
        assertFalse(Files.exists(tmp.resolve("copy.onnx.data")));
        for (long[] ids : new long[][] {CAT, FOX}) {
            assertSameOutputs(OrtRunner.runEncoder(original, ids), OrtRunner.runEncoder(copy, ids));
        }
        // what the IR does not model rides along: producer, opsets, metadata, doc strings
        ModelProto a = ModelReader.readProto(original);
        ModelProto b = ModelReader.readProto(copy);
        assertEquals(a.getProducerName(), b.getProducerName());
        assertEquals(a.getOpsetImportList(), b.getOpsetImportList());
        assertEquals(a.getMetadataPropsList(), b.getMetadataPropsList());
        assertEquals(a.getGraph().getInitializerCount(), b.getGraph().getInitializerCount());
        assertEquals(a.getGraph().getNodeCount(), b.getGraph().getNodeCount());
    }

    @Test
    void externalDataRoundTripReadsBackIdenticalAndRunsInOrt() throws Exception {
        Path original = SampleModels.MINILM.model();
        Path ext = tmp.resolve("ext.onnx");
        ModelWriter.write(ModelReader.read(original), ext,
                WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL));
        assertTrue(Files.size(tmp.resolve("ext.onnx.data")) > 80_000_000L);
        assertTrue(Files.size(ext) < 1_000_000L, "weights must live in the data file");

        Model a = ModelReader.read(original);
        Model b = ModelReader.read(ext);
        int external = 0;
        for (Value va : a.graph().initializers()) {
            Value vb = b.graph().lookup(va.name());
            assertEquals(va.constant().read(), vb.constant().read(), va.name());
            if (vb.constant() instanceof ExternalTensor et) {
                external++;
                assertEquals(0, et.offset() % 4096, "aligned offsets");
            }
        }
        assertTrue(external > 50);
        for (long[] ids : new long[][] {CAT, FOX}) {
            assertSameOutputs(OrtRunner.runEncoder(original, ids), OrtRunner.runEncoder(ext, ids));
        }
        // and back to inline again
        Path back = tmp.resolve("back.onnx");
        ModelWriter.write(b, back);
        assertSameOutputs(OrtRunner.runEncoder(original, CAT), OrtRunner.runEncoder(back, CAT));
    }

    private static void assertSameOutputs(Map<String, ByteBuffer> expected, Map<String, ByteBuffer> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) {
            assertEquals(expected.get(k), actual.get(k), "output " + k + " differs");
        }
    }
}

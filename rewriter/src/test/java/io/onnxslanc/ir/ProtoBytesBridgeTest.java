package io.onnxslanc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The IR's public API carries no protobuf bytes; only the reader and the encoder cross the {@link ProtoBytes} bridge. */
class ProtoBytesBridgeTest {

    @Test
    void noPublicMethodOfTheGraphClassesTakesOrReturnsBytes() {
        List<String> offending = new ArrayList<>();
        for (Class<?> c : List.of(Model.class, Graph.class, Node.class, Value.class)) {
            for (Method m : c.getDeclaredMethods()) {
                boolean bytes = m.getReturnType() == byte[].class
                        || Arrays.asList(m.getParameterTypes()).contains(byte[].class);
                if (Modifier.isPublic(m.getModifiers()) && bytes) {
                    offending.add(c.getSimpleName() + "." + m.getName());
                }
            }
        }
        assertEquals(List.of(), offending);
    }

    @Test
    void onlyTheReaderAndTheEncoderUseTheBridge() throws IOException {
        Path sources = Path.of("src/main/java");
        assertTrue(Files.isDirectory(sources), "run from the rewriter module: " + sources.toAbsolutePath());
        List<String> users;
        try (Stream<Path> files = Files.walk(sources)) {
            users = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> read(p).contains("ProtoBytes"))
                    .map(p -> sources.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.startsWith("io/onnxslanc/ir/"))
                    .sorted().toList();
        }
        assertEquals(List.of("io/onnxslanc/io/ModelReader.java", "io/onnxslanc/io/ProtoEncoder.java"), users);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

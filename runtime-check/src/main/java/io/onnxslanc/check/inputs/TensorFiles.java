package io.onnxslanc.check.inputs;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Real model inputs from files, laid out as in ONNX's own test data: a folder holding {@code input_0.pb},
 * {@code input_1.pb}, ... (serialised TensorProto) or {@code .npy} files is one sample; a folder of such folders
 * ({@code test_data_set_0/}, {@code test_data_set_1/}, ...) is one sample per sub-folder. A file is matched to a model
 * input by the TensorProto's name (or the .npy file's name without extension), else by its position in name order;
 * files named {@code output*} (expected outputs) are skipped.
 */
final class TensorFiles {
    private TensorFiles() {
    }

    static List<Map<String, TensorData>> read(Path dir, List<ValueInfoProto> inputs) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": no such folder of input tensors");
        }
        List<Path> sampleDirs = sorted(dir, Files::isDirectory);
        if (!tensorFiles(dir).isEmpty()) {
            sampleDirs = List.of(dir);
        }
        if (sampleDirs.isEmpty()) {
            throw new IllegalArgumentException(dir + ": holds no input tensors (input_0.pb, ... or .npy files, or "
                    + "sub-folders of them such as test_data_set_0/)");
        }
        List<Map<String, TensorData>> samples = new ArrayList<>();
        for (Path d : sampleDirs) {
            samples.add(sample(d, inputs));
        }
        return samples;
    }

    private static Map<String, TensorData> sample(Path dir, List<ValueInfoProto> inputs) throws IOException {
        List<Path> files = tensorFiles(dir);
        if (files.isEmpty()) {
            throw new IllegalArgumentException(dir + ": holds no input tensors (input_0.pb, ... or .npy files)");
        }
        List<String> names = inputs.stream().map(ValueInfoProto::getName).toList();
        Map<String, TensorData> byName = new LinkedHashMap<>();
        List<TensorData> unnamed = new ArrayList<>();
        List<Path> unnamedFiles = new ArrayList<>();
        for (Path f : files) {
            String name;
            TensorData value;
            if (f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy")) {
                value = Npy.read(f);
                name = stem(f);
            } else {
                TensorProto t = parse(f);
                value = TensorProtoValues.of(t, f.toString());
                name = t.getName();
            }
            if (names.contains(name)) {
                if (byName.put(name, value) != null) {
                    throw new IllegalArgumentException(dir + ": two files hold input '" + name + "'");
                }
            } else {
                unnamed.add(value);
                unnamedFiles.add(f);
            }
        }
        // files not named after an input take the remaining inputs in order
        int next = 0;
        Map<String, TensorData> feed = new LinkedHashMap<>();
        for (String name : names) {
            if (byName.containsKey(name)) {
                feed.put(name, byName.get(name));
            } else if (next < unnamed.size()) {
                feed.put(name, unnamed.get(next++));
            } else {
                throw new IllegalArgumentException(dir + ": no tensor for model input '" + name + "' (model inputs "
                        + names + ", files " + files.stream().map(p -> p.getFileName().toString()).toList() + ")");
            }
        }
        if (next < unnamed.size()) {
            throw new IllegalArgumentException(unnamedFiles.get(next) + ": more tensor files than model inputs " + names);
        }
        return feed;
    }

    private static TensorProto parse(Path f) throws IOException {
        try {
            return TensorProto.parseFrom(Files.readAllBytes(f));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(f + ": not a serialised ONNX TensorProto (" + e.getMessage() + ")");
        }
    }

    private static String stem(Path f) {
        String n = f.getFileName().toString();
        return n.substring(0, n.length() - ".npy".length());
    }

    private static List<Path> tensorFiles(Path dir) throws IOException {
        return sorted(dir, p -> {
            String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
            return Files.isRegularFile(p) && (n.endsWith(".pb") || n.endsWith(".npy")) && !n.startsWith("output");
        });
    }

    private static List<Path> sorted(Path dir, java.util.function.Predicate<Path> keep) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(keep).sorted(Comparator.comparing(p -> naturalKey(p.getFileName().toString()))).toList();
        }
    }

    /** input_2 before input_10: digit runs compare by value. */
    static String naturalKey(String name) {
        StringBuilder key = new StringBuilder();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\d+|\\D+").matcher(name);
        while (m.find()) {
            String part = m.group();
            key.append(Character.isDigit(part.charAt(0)) ? String.format("%020d", new java.math.BigInteger(part).min(
                    java.math.BigInteger.valueOf(Long.MAX_VALUE)).longValue()) : part);
        }
        return key.toString();
    }
}

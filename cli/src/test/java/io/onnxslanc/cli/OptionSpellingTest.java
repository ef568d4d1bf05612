package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

/**
 * Users put flags first (issue 16): every command parses its flags-first and flags-last spellings to the same
 * options and paths, and no option takes an optional value that could swallow a path.
 */
class OptionSpellingTest {

    @org.junit.jupiter.api.AfterEach
    void quietAgain() {
        io.onnxslanc.check.ep.OrtLogging.setVerbose(false); // parsing --debug sets it, for the whole JVM
    }

    /** Command words, flags, positionals. */
    static Stream<Arguments> commands() {
        return Stream.of(
                Arguments.of(List.of(), List.of("--keep-io-types", "--op-block-list", "Softmax,Gelu", "--report", "r.json", "-q", "--debug"),
                        List.of("in.onnx", "out.onnx")),
                Arguments.of(List.of(), List.of("--keep-io-types=x,y", "--no-slanc"), List.of("in.onnx", "out.onnx")),
                Arguments.of(List.of(), List.of("--keep-io-types-names", "x,y", "--target", "bfloat16"), List.of("in.onnx", "out.onnx")),
                Arguments.of(List.of("check"), List.of("--input-shape", "x=1,2", "--input-shape", "y=3", "--dim", "N=1", "--seq-len", "8",
                        "--past-len", "4", "--ep", "cpu", "--json", "j.json", "--debug"), List.of("ref.onnx", "cand.onnx")),
                Arguments.of(List.of("check"), List.of("--inputs", "data", "--samples", "2"), List.of("ref.onnx", "cand.onnx")),
                Arguments.of(List.of("check"), List.of("--min-cosine", "0.99", "--max-ppl-increase", "2", "--emulate", "fp16-naive-norms",
                        "--inputs", "generated"), List.of("ref.onnx", "cand.onnx")),
                Arguments.of(List.of(), List.of("--verify", "--keep-failed", "--verify-emulate", "fp16-storage", "--inputs", "data",
                        "--input-shape", "x=1,8", "--dim", "N=1", "--past-len", "2", "--min-cosine", "0.99", "--ep", "cpu"),
                        List.of("in.onnx", "out.onnx")),
                Arguments.of(List.of(), List.of("--fp32-fallback", "auto", "--fp32-fallback-margin", "4", "--text", "t.txt",
                        "--tokenizer", "tok.bin", "--samples", "2"), List.of("in.onnx", "out.onnx")),
                Arguments.of(List.of("compare"), List.of("--ep", "cpu", "--ep", "cuda,cpu", "--emulate", "none,fp16-storage",
                        "--text", "t.txt", "--tokenizer", "tok.bin", "--window", "16", "--max-tokens", "64", "--opt-level", "all",
                        "--cuda-option", "a=1", "--json", "c.json", "--html", "c.html", "--debug"), List.of("a.onnx", "b.onnx", "c.onnx")),
                Arguments.of(List.of("compare"), List.of("--workload", "parity", "--inputs", "data", "--input-shape", "x=1,8",
                        "--dim", "N=1", "--past-len", "3", "--samples", "2", "--seq-len", "8"), List.of("a.onnx", "b.onnx")),
                Arguments.of(List.of("probe"), List.of("--text", "t.txt", "--tokenizer", "tok.bin", "--html", "p.html", "--opt-level", "all"),
                        List.of("model.onnx")),
                Arguments.of(List.of("perplexity"), List.of("--text", "t.txt", "--tokenizer", "tok.bin", "--window", "16", "--kv-cache",
                        "--emulate", "fp16-storage"), List.of("model.onnx")),
                Arguments.of(List.of("embed"), List.of("--model", "minilm", "--out", "o"), List.of("one sentence", "another")),
                Arguments.of(List.of("demo"), List.of("--out", "o", "--data", "d"), List.of()),
                Arguments.of(List.of("import-llama2c"), List.of("--past", "--norm", "fused", "--external-data"), List.of("ck.bin", "out.onnx")),
                Arguments.of(List.of("synth"), List.of("--preset", "tiny", "--seed", "3", "--external-data"), List.of("out.onnx")),
                Arguments.of(List.of("amplify"), List.of("--factor", "4", "--readers", "weights", "--report", "r.json"), List.of("in.onnx", "out.onnx")),
                Arguments.of(List.of("experiment"), List.of("--factors", "1,2", "--max-tokens", "8", "-q"), List.of()),
                Arguments.of(List.of("bench", "pipeline"), List.of("--dir", "d", "--calibrate-only"), List.of("model.onnx")),
                Arguments.of(List.of("bench", "io"), List.of("--gb", "1", "--rounds", "1"), List.of()),
                Arguments.of(List.of("bench", "kernel"), List.of(), List.of("fp16.*")),
                Arguments.of(List.of("bench", "slanc-math"), List.of("--threads", "1", "--layers", "2"), List.of()));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void flagsFirstAndFlagsLastParseAlike(List<String> words, List<String> flags, List<String> paths) {
        List<String> first = new ArrayList<>(words), last = new ArrayList<>(words);
        first.addAll(flags);
        first.addAll(paths);
        last.addAll(paths);
        last.addAll(flags);
        Map<String, String> a = parsed(first), b = parsed(last);
        assertEquals(a, b, first + " vs " + last);
        for (int i = 0; i < paths.size(); i++) {
            assertEquals(paths.get(i), a.get("#" + i), "positional " + i + " of " + first);
        }
    }

    /** Option name -> value and "#i" -> positional value, of the innermost command matched. */
    private static Map<String, String> parsed(List<String> args) {
        ParseResult r = new CommandLine(new Main()).parseArgs(args.toArray(String[]::new));
        while (r.hasSubcommand()) {
            r = r.subcommand();
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (OptionSpec o : r.matchedOptions()) {
            values.put(o.longestName(), deep(o.getValue()));
        }
        int i = 0;
        for (PositionalParamSpec p : r.matchedPositionals()) {
            Object v = p.getValue();
            if (v instanceof List<?> list) {
                for (Object e : list) {
                    values.put("#" + i++, String.valueOf(e));
                }
            } else {
                values.put("#" + i++, String.valueOf(v));
            }
        }
        return values;
    }

    private static String deep(Object v) {
        return v instanceof Object[] a ? Arrays.deepToString(a) : String.valueOf(v);
    }

    @Test
    void keepIoTypesAloneMeansAllAndNamesComeOnlyAttachedOrByTheirOwnOption() {
        Main all = new Main();
        new CommandLine(all).parseArgs("--keep-io-types", "in.onnx", "out.onnx");
        assertTrue(all.keepAllIoTypes);
        assertEquals("in.onnx", all.input.toString());
        assertEquals("out.onnx", all.output.toString());
        Main attached = new Main();
        new CommandLine(attached).parseArgs("--keep-io-types=a,b", "in.onnx", "out.onnx");
        assertEquals(List.of("a", "b"), attached.keepIoTypes);
        assertTrue(!attached.keepAllIoTypes);
    }

    /** The audit: an option whose value is optional (arity 0..1) takes the next word, a path, when flags come first. */
    @Test
    void noOptionOfAnyCommandTakesAnOptionalValue() {
        List<String> optional = new ArrayList<>();
        audit(new CommandLine(new Main()).getCommandSpec(), optional);
        assertEquals(List.of(), optional);
    }

    private static void audit(CommandSpec spec, List<String> optional) {
        for (OptionSpec o : spec.options()) {
            if (o.arity().min() == 0 && o.arity().max() > 0) {
                optional.add(spec.qualifiedName() + " " + o.longestName() + " (arity " + o.arity() + ")");
            }
        }
        for (CommandLine sub : spec.subcommands().values()) {
            audit(sub.getCommandSpec(), optional);
        }
    }
}

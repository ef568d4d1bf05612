package io.onnxslanc.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A child JVM for the tests that must watch a real process (its stderr file descriptor, its exit code, a small heap).
 * The JVM itself prints {@code Picked up JAVA_TOOL_OPTIONS: ...} on stderr whenever one of its option variables is
 * set (CI's fresh-clone check sets one to point Maven at an empty repository); that line is the launcher's, not the
 * tool's, so the child gets an environment without those variables and the tests see only what the tool prints.
 */
public final class ChildJvm {
    private static final List<String> LAUNCHER_OPTION_VARIABLES = List.of("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS");

    private ChildJvm() {
    }

    /** {@code java <jvmOptions> -cp <this test's class path> <mainClass> <args>}, with the launcher variables removed. */
    public static ProcessBuilder of(List<String> jvmOptions, Class<?> mainClass, List<String> args) {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classPath, mainClass.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        LAUNCHER_OPTION_VARIABLES.forEach(pb.environment()::remove);
        return pb;
    }
}

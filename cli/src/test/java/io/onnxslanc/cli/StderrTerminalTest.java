package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StderrTerminalTest {
    @Test
    void underTheTestRunnerStderrIsNoTerminal() {
        // surefire pipes the forked JVM's stderr: no progress bars may be drawn into it, whatever the JDK
        assertFalse(StderrTerminal.isTerminal());
    }

    @Test
    void everyPieceOfEvidenceCanTurnTheBarsOff() {
        assertTrue(StderrTerminal.decide(true, null, "/dev/pts/3", "xterm"), "JDK 17 console, stderr on a pty");
        assertTrue(StderrTerminal.decide(true, true, null, null), "JDK 22 terminal console, no /proc");
        assertFalse(StderrTerminal.decide(false, null, "/dev/pts/3", "xterm"), "no console (stdout redirected)");
        assertFalse(StderrTerminal.decide(true, false, "/dev/pts/3", "xterm"), "JDK 22+: a console that is no terminal");
        assertFalse(StderrTerminal.decide(true, null, "/tmp/log.txt", "xterm"), "2> log.txt with a console");
        assertFalse(StderrTerminal.decide(true, null, "pipe:[1234]", "xterm"), "2>&1 | tee");
        assertFalse(StderrTerminal.decide(true, true, "/dev/pts/3", "dumb"), "TERM=dumb");
    }
}

package io.onnxslanc.samples.experiment;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compares a copy of the experiment's printed tables kept in a document (the README) with what the experiment prints
 * now, cell by cell, so that a copied number cannot silently drift from the command that produces it.
 *
 * <p>The copy sits between {@code <!-- experiment-table: ... --max-tokens N ... -->} and
 * {@code <!-- /experiment-table -->}; the opening marker names the command that produced it, and its
 * {@code --max-tokens} is the one setting every row depends on (a row depends on nothing else but its factor, so a run
 * at fewer factors checks the rows at its own factors and leaves the others unchecked, and says how many).
 * Inside the block, tables are recognised by their {@code c  variant ...} header line (the line above it is the
 * table's title), rows by their factor and variant; bullet lines ({@code - text: ...}) are compared with the printed
 * note or protocol line that has the same text before its first ": ".
 */
public final class ExperimentTableCheck {
    /** Start of the opening marker. */
    public static final String BEGIN = "<!-- experiment-table:";
    /** The closing marker. */
    public static final String END = "<!-- /experiment-table -->";

    private static final Pattern MAX_TOKENS = Pattern.compile("--max-tokens[ =](\\d+)");
    private static final Pattern CELL_SEPARATOR = Pattern.compile("\\s{2,}");

    private ExperimentTableCheck() {
    }

    /**
     * The block a document keeps.
     *
     * @param command      the opening marker's text after "experiment-table:" (the command that printed the block)
     * @param maxPositions its {@code --max-tokens}
     * @param text         the lines between the markers
     */
    public record Block(String command, int maxPositions, String text) {
    }

    /**
     * What the comparison found.
     *
     * @param differences   one line per differing cell, title, missing row or note
     * @param rows          rows compared
     * @param cells         cells compared
     * @param notes         bullet lines compared
     * @param uncheckedRows rows of the document at factors (or tables) this run did not produce
     */
    public record Outcome(List<String> differences, int rows, int cells, int notes, int uncheckedRows) {
        public Outcome {
            differences = List.copyOf(differences);
        }

        public boolean passed() {
            return differences.isEmpty() && rows > 0;
        }

        /** {@code verdict PASS: FILE: ...} or {@code verdict FAIL: FILE: ...}. */
        public String verdictLine(String file) {
            String unchecked = uncheckedRows == 0 ? "" : "; " + uncheckedRows + " rows at factors not run here are unchecked";
            if (rows == 0) {
                return "verdict FAIL: " + file + ": no row of its experiment block was produced by this run" + unchecked;
            }
            if (!differences.isEmpty()) {
                return "verdict FAIL: " + file + ": " + differences.size() + " difference(s) from the experiment's output"
                        + unchecked;
            }
            return "verdict PASS: " + file + ": " + rows + " rows (" + cells + " cells) and " + notes
                    + " notes agree with the experiment's output" + unchecked;
        }
    }

    /** The experiment block of {@code document}; {@code file} names it in the error messages. */
    public static Block block(String document, String file) {
        int begin = document.indexOf(BEGIN);
        if (begin < 0) {
            throw new IllegalArgumentException(file + ": no experiment block (" + BEGIN + " ... --> ... " + END + ")");
        }
        int markerEnd = document.indexOf("-->", begin);
        int end = document.indexOf(END, begin);
        if (markerEnd < 0 || end < 0 || end < markerEnd) {
            throw new IllegalArgumentException(file + ": the experiment block opened by '" + BEGIN + "' has no '" + END + "'");
        }
        if (document.indexOf(BEGIN, end) >= 0) {
            throw new IllegalArgumentException(file + ": more than one experiment block");
        }
        String command = document.substring(begin + BEGIN.length(), markerEnd).strip();
        Matcher m = MAX_TOKENS.matcher(command);
        if (!m.find()) {
            throw new IllegalArgumentException(file + ": the experiment block's marker does not say its --max-tokens: '"
                    + command + "'");
        }
        return new Block(command, Integer.parseInt(m.group(1)), document.substring(markerEnd + 3, end));
    }

    /** Compares the block's text (expected) with the experiment's printed text (actual). */
    public static Outcome compare(String expected, String actual) {
        Parsed want = Parsed.of(expected);
        Parsed got = Parsed.of(actual);
        List<String> diffs = new ArrayList<>();
        for (String line : want.plainLines) {
            if (!got.plainLines.contains(line)) {
                diffs.add("line: README '" + line + "', experiment prints no such line");
            }
        }
        int rows = 0;
        int cells = 0;
        int unchecked = 0;
        for (Map.Entry<String, Table> e : want.tables.entrySet()) {
            Table w = e.getValue();
            Table g = got.tables.get(e.getKey());
            if (g == null) {
                unchecked += w.rows.size();
                continue;
            }
            if (!w.title.equals(g.title)) {
                diffs.add(e.getKey() + " title: README '" + w.title + "', experiment '" + g.title + "'");
            }
            if (!w.header.equals(g.header)) {
                diffs.add(e.getKey() + " columns: README " + w.header + ", experiment " + g.header);
                continue;
            }
            for (Map.Entry<String, List<String>> r : w.rows.entrySet()) {
                List<String> now = g.rows.get(r.getKey());
                if (now == null) {
                    if (g.factors.contains(r.getValue().get(0))) {
                        diffs.add(e.getKey() + " c = " + r.getKey() + ": row in README, not printed by the experiment");
                    } else {
                        unchecked++;
                    }
                    continue;
                }
                rows++;
                for (int i = 2; i < w.header.size(); i++) {
                    cells++;
                    if (!r.getValue().get(i).equals(now.get(i))) {
                        diffs.add(e.getKey() + " c = " + r.getKey() + ", " + w.header.get(i) + ": README "
                                + r.getValue().get(i) + ", experiment " + now.get(i));
                    }
                }
            }
            Set<String> wantedFactors = new LinkedHashSet<>();
            w.rows.values().forEach(r -> wantedFactors.add(r.get(0)));
            for (String key : g.rows.keySet()) {
                if (!w.rows.containsKey(key) && wantedFactors.contains(g.rows.get(key).get(0))) {
                    diffs.add(e.getKey() + " c = " + key + ": printed by the experiment, missing from README");
                }
            }
        }
        int notes = 0;
        for (Map.Entry<String, String> n : want.bullets.entrySet()) {
            String now = got.bullets.get(n.getKey());
            if (now == null) {
                continue; // a note about a factor or model this run did not produce
            }
            notes++;
            if (!now.equals(n.getValue())) {
                diffs.add("note '" + n.getKey() + "': README '" + n.getValue() + "', experiment '" + now + "'");
            }
        }
        return new Outcome(diffs, rows, cells, notes, unchecked);
    }

    /** One table: its title, its column names, its rows by "factor variant". */
    private static final class Table {
        final String title;
        final List<String> header;
        final Map<String, List<String>> rows = new LinkedHashMap<>();
        final Set<String> factors = new LinkedHashSet<>();

        Table(String title, List<String> header) {
            this.title = title;
            this.header = header;
        }
    }

    /** The tables, bullet lines and the runtime line of a printed experiment (or of a document's copy of one). */
    private static final class Parsed {
        final Map<String, Table> tables = new LinkedHashMap<>();
        final Map<String, String> bullets = new LinkedHashMap<>();
        final List<String> plainLines = new ArrayList<>();

        static Parsed of(String text) {
            Parsed p = new Parsed();
            List<String> lines = text.lines().toList();
            Table current = null;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.startsWith("c  variant")) {
                    String title = i > 0 ? lines.get(i - 1).strip() : "";
                    String name = title.isEmpty() ? "table" : title.split("[ (]", 2)[0];
                    current = new Table(title, split(line));
                    p.tables.put(name, current);
                } else if (line.startsWith("- ")) {
                    current = null;
                    String bullet = line.substring(2).strip();
                    int colon = bullet.indexOf(": ");
                    p.bullets.putIfAbsent(colon < 0 ? bullet : bullet.substring(0, colon), bullet);
                } else if (line.startsWith("ONNX Runtime ")) {
                    p.plainLines.add(line);
                } else if (current != null && !line.isEmpty()) {
                    List<String> cells = split(line);
                    if (cells.size() == current.header.size() && isNumber(cells.get(0))) {
                        current.rows.put(cells.get(0) + " " + cells.get(1), cells);
                        current.factors.add(cells.get(0));
                    } else if (!line.startsWith("```")) {
                        current = null; // the title of the next table, or prose
                    }
                }
            }
            return p;
        }

        private static List<String> split(String line) {
            return List.of(CELL_SEPARATOR.split(line.strip()));
        }

        private static boolean isNumber(String s) {
            try {
                Double.parseDouble(s);
                return true;
            } catch (NumberFormatException e) {
                return false;
            }
        }
    }
}

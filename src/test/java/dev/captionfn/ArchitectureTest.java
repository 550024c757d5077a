package dev.captionfn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The house's floors (README, "Architecture"): no package of src/main names a captionfn package
 * above its floor, every package stands on a floor, and none holds more than a fifth of the code.
 *
 * <p>A scan of the sources rather than ArchUnit's scan of classes, because no one build compiles
 * every package: the default build leaves {@code lambda} out and {@code -Plambda} leaves out
 * {@code function}, {@code kafka}, {@code health} and {@code prepare}; and because the compiler
 * inlines constants, so a class file can lose a dependency its source has. Every {@code import},
 * {@code import static} and fully qualified name in code counts; comments and string literals do
 * not.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src", "main", "java", "dev", "captionfn");

    private static final Set<String> WAYS_IN = Set.of("function", "kafka", "lambda", "health", "prepare");
    private static final Set<String> BELOW_CAPTION =
            Set.of("config", "batch", "model", "ort", "modeldir", "fetch", "image", "text", "generate");

    /** Each package and the other captionfn packages it may import, floor by floor from the bottom. */
    static final Map<String, Rule> FLOORS = Map.ofEntries(
            Map.entry("fetch", Rule.leaf()),
            Map.entry("image", Rule.leaf()),
            Map.entry("text", Rule.leaf()),
            Map.entry("generate", Rule.leaf()),
            Map.entry("modeldir", Rule.leaf()),
            Map.entry("ort", Rule.of("imports modeldir only", "modeldir")),
            Map.entry("model", Rule.of("imports modeldir, ort, image, text and generate",
                    "modeldir", "ort", "image", "text", "generate")),
            Map.entry("batch", Rule.of("imports model and below",
                    "model", "modeldir", "ort", "image", "text", "generate")),
            // config maps the configuration onto the value types of the floors below caption
            Map.entry("config", Rule.of("imports the floors below caption, never caption or a way in",
                    "batch", "model", "ort", "modeldir", "fetch", "image", "text", "generate")),
            Map.entry("caption", new Rule("imports anything below it", BELOW_CAPTION)),
            Map.entry("function", Rule.wayIn()),
            Map.entry("kafka", Rule.wayIn()),
            Map.entry("lambda", Rule.wayIn()),
            Map.entry("health", Rule.wayIn()),
            Map.entry("prepare", Rule.wayIn()));

    /** What a package may import beside itself, and the rule in words for a failure message. */
    record Rule(String words, Set<String> mayImport) {
        static Rule leaf() {
            return new Rule("is a leaf: imports nothing else of captionfn", Set.of());
        }

        static Rule of(String words, String... mayImport) {
            return new Rule(words, Set.of(mayImport));
        }

        static Rule wayIn() {
            Set<String> below = new TreeSet<>(BELOW_CAPTION);
            below.add("caption");
            return new Rule("is a way in: imports caption and below, never another way in", Set.copyOf(below));
        }
    }

    /** One mention of a captionfn package in a source file. */
    record Reference(Path file, int line, String target, String text) {}

    @Test
    void noPackageImportsOneAboveItsFloor() throws IOException {
        List<String> offences = new ArrayList<>();
        for (Path file : javaFiles()) {
            String from = packageOf(file);
            Rule rule = FLOORS.get(from);
            if (rule == null) {
                continue; // the next test names it
            }
            for (Reference ref : references(file, Files.readString(file))) {
                if (!ref.target().equals(from) && !rule.mayImport().contains(ref.target())) {
                    offences.add(MAIN.relativize(ref.file()) + ":" + ref.line() + ": " + ref.text()
                            + "  -- " + from + " " + rule.words());
                }
            }
        }
        assertTrue(offences.isEmpty(), offences.size() + " references run up a floor:\n  "
                + String.join("\n  ", offences));
    }

    @Test
    void everyPackageStandsOnAFloor() throws IOException {
        Set<String> packages = new TreeSet<>();
        List<String> rootCode = new ArrayList<>();
        for (Path file : javaFiles()) {
            if (file.getParent().equals(MAIN)) {
                if (!file.getFileName().toString().equals("package-info.java")) {
                    rootCode.add(file.getFileName().toString());
                }
            } else {
                packages.add(packageOf(file));
            }
        }
        Set<String> unplaced = new TreeSet<>(packages);
        unplaced.removeAll(FLOORS.keySet());
        Set<String> gone = new TreeSet<>(FLOORS.keySet());
        gone.removeAll(packages);
        assertTrue(unplaced.isEmpty(), "Packages on no floor (add them to ArchitectureTest.FLOORS and the"
                + " README's Architecture section): " + unplaced);
        assertTrue(gone.isEmpty(), "FLOORS names packages src/main no longer has: " + gone);
        assertTrue(rootCode.isEmpty(), "dev.captionfn itself holds no code, only its package-info: " + rootCode);
    }

    @Test
    void noPackageHoldsMoreThanAFifthOfTheCode() throws IOException {
        Map<String, Long> lines = new TreeMap<>();
        long total = 0;
        for (Path file : javaFiles()) {
            long n = Files.readAllLines(file).stream().filter(l -> !l.isBlank()).count();
            total += n;
            if (!file.getParent().equals(MAIN)) {
                lines.merge(packageOf(file), n, Long::sum);
            }
        }
        long all = total;
        String shares = lines.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .map(e -> String.format("%s %.1f %% (%d)", e.getKey(), 100.0 * e.getValue() / all, e.getValue()))
                .collect(Collectors.joining(", "));
        List<String> large = lines.entrySet().stream()
                .filter(e -> 5 * e.getValue() > all).map(Map.Entry::getKey).toList();
        assertTrue(large.isEmpty(), large + " hold more than 20 % of src/main's " + all
                + " non-blank lines: " + shares);
    }

    @Test
    void scanSeesImportsAndNamesInCodeButNotCommentsOrStrings() {
        String source = """
                package dev.captionfn.ort;

                import dev.captionfn.modeldir.Graph;
                import static dev.captionfn.caption.ErrorCode.OVERLOADED;
                /* dev.captionfn.kafka.Replies */ // dev.captionfn.lambda.SqsFunction
                /** {@link dev.captionfn.health.ModelHealthChecks} */
                class X {
                    String s = "dev.captionfn.function.CaptionFunction \\" dev.captionfn.prepare";
                    char c = '"'; Object o = dev.captionfn.model.LoadedModel.class;
                    String t = \"""
                        dev.captionfn.batch.MicroBatcher
                        \""";
                }
                """;
        List<String> seen = references(Path.of("X.java"), source).stream()
                .map(r -> r.line() + " " + r.target()).toList();
        assertEquals(List.of("3 modeldir", "4 caption", "9 model"), seen);
    }

    private static List<Path> javaFiles() throws IOException {
        try (Stream<Path> files = Files.walk(MAIN)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
    }

    /** The captionfn package a file belongs to: the first folder under dev/captionfn. */
    private static String packageOf(Path file) {
        return MAIN.relativize(file).getName(0).toString();
    }

    private static final Pattern NAME = Pattern.compile("\\bdev\\s*\\.\\s*captionfn\\s*\\.\\s*([\\p{javaJavaIdentifierStart}][\\p{javaJavaIdentifierPart}]*)");
    private static final Pattern PACKAGE_LINE = Pattern.compile("^\\s*package\\s");

    /** Every captionfn package a source names outside comments and literals, but its own package line. */
    static List<Reference> references(Path file, String source) {
        String[] code = codeOnly(source).split("\n", -1);
        String[] text = source.split("\n", -1);
        List<Reference> refs = new ArrayList<>();
        for (int i = 0; i < code.length; i++) {
            if (PACKAGE_LINE.matcher(code[i]).find()) {
                continue;
            }
            Matcher m = NAME.matcher(code[i]);
            while (m.find()) {
                refs.add(new Reference(file, i + 1, m.group(1), text[i].strip()));
            }
        }
        return refs;
    }

    /**
     * The source with comments, string, text-block and char literals blanked out; line breaks stay,
     * so line numbers stay true. Hand-written because a Java parser is a dependency for four states.
     */
    static String codeOnly(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int n = source.length();
        int i = 0;
        while (i < n) {
            char c = source.charAt(i);
            if (source.startsWith("//", i)) {
                while (i < n && source.charAt(i) != '\n') {
                    out.append(' ');
                    i++;
                }
            } else if (source.startsWith("/*", i)) {
                int end = source.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                blank(source, i, end, out);
                i = end;
            } else if (source.startsWith("\"\"\"", i)) {
                int end = i + 3;
                while (end < n && !source.startsWith("\"\"\"", end)) {
                    end += source.charAt(end) == '\\' ? 2 : 1;
                }
                end = Math.min(n, end + 3);
                blank(source, i, end, out);
                i = end;
            } else if (c == '"' || c == '\'') {
                int end = i + 1;
                while (end < n && source.charAt(end) != c && source.charAt(end) != '\n') {
                    end += source.charAt(end) == '\\' ? 2 : 1;
                }
                end = Math.min(n, end + 1);
                blank(source, i, end, out);
                i = end;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static void blank(String source, int from, int to, StringBuilder out) {
        for (int k = from; k < to; k++) {
            out.append(source.charAt(k) == '\n' ? '\n' : ' ');
        }
    }
}

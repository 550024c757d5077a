package dev.captionfn.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/** Docker's rules for the build context, for the tests that check a Dockerfile against its .dockerignore. */
public final class DockerContext {
    private DockerContext() {}

    /** A Dockerfile or .dockerignore glob: * and ? within a path element, ** across them. */
    public static Pattern glob(String glob) {
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                regex.append(".*");
                i++;
            } else if (c == '*') {
                regex.append("[^/]*");
            } else if (c == '?') {
                regex.append("[^/]");
            } else {
                regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.toString());
    }

    /**
     * Docker's rule: the last .dockerignore pattern that matches the path or one of its parent
     * directories decides; "!" lets it through. Patterns are cleaned as Docker cleans them (a
     * leading or trailing slash, "./", "..").
     */
    public static boolean ignored(List<String> patterns, String path) {
        boolean ignored = false;
        for (String line : patterns) {
            boolean exception = line.startsWith("!");
            String pattern = trimSlash(Path.of(exception ? line.substring(1) : line).normalize().toString().replaceFirst("^/", ""));
            Pattern p = glob(pattern);
            for (Path candidate = Path.of(path); candidate != null; candidate = candidate.getParent()) {
                if (p.matcher(candidate.toString().replace('\\', '/')).matches()) {
                    ignored = !exception;
                    break;
                }
            }
        }
        return ignored;
    }

    /** A path without a leading "./" or a trailing "/". */
    public static String trimSlash(String path) {
        String p = path.startsWith("./") ? path.substring(2) : path;
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}

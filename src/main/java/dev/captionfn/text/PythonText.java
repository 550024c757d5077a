package dev.captionfn.text;

/**
 * Python's {@code str.strip()}, which LAVIS applies to the decoded caption. Java's
 * {@code String.strip()} is not the same: it keeps U+00A0, U+2007, U+202F (non-breaking spaces)
 * and U+0085, all of which Python strips.
 */
final class PythonText {

    private static final int NEXT_LINE = 0x85;

    private PythonText() {
    }

    /** Python's {@code str.isspace()} for one code point. */
    static boolean isSpace(int codePoint) {
        return Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint) || codePoint == NEXT_LINE;
    }

    static String strip(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isSpace(text.codePointAt(start))) {
            start += Character.charCount(text.codePointAt(start));
        }
        while (end > start && isSpace(text.codePointBefore(end))) {
            end -= Character.charCount(text.codePointBefore(end));
        }
        return text.substring(start, end);
    }
}

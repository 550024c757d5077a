package dev.captionfn.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

class PythonTextTest {

    @Test
    void isSpaceAgreesWithPythonOnEveryCodePoint() {
        long[] python = TokenizerFixtures.pythonWhitespace();
        List<Long> java = new ArrayList<>();
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (PythonText.isSpace(cp)) {
                java.add((long) cp);
            }
        }

        assertEquals(Arrays.toString(python), java.toString());
    }

    @Test
    void stripRemovesWhatPythonStripsIncludingNonBreakingSpaces() {
        assertEquals("a cat", PythonText.strip("\u00a0\u0085 \n\ta cat\u202f\u2007 "));
        assertEquals("a \u00a0 b", PythonText.strip(" a \u00a0 b "));
        assertEquals("", PythonText.strip(" \u3000 "));
        assertEquals("\uD83D\uDE00", PythonText.strip("\uD83D\uDE00"));
    }
}

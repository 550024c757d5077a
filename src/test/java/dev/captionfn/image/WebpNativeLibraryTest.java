package dev.captionfn.image;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libwebp comes inside the webp-imageio jar and is unpacked to {@code java.io.tmpdir} before it is
 * loaded. On AWS Lambda only /tmp is writable (and is java.io.tmpdir), so the library must go there
 * and nowhere else: a JVM started with another temporary folder decodes a WebP with the library
 * unpacked into that folder.
 */
class WebpNativeLibraryTest {

    @Test
    void libwebpIsUnpackedIntoJavaIoTmpdirAndDecodesFromThere(@TempDir Path tmp) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-Djava.io.tmpdir=" + tmp,
                "-cp", System.getProperty("java.class.path"), DecodeOneWebp.class.getName(), "images/edge/hopper.webp")
                .redirectErrorStream(true)
                .start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertEquals(0, child.exitValue(), output);
        assertTrue(output.contains("decoded 128x128"), output);
        assertTrue(output.lines().anyMatch(line -> line.startsWith("unpacked webp-imageio-")
                && line.endsWith(System.mapLibraryName("webp-imageio"))), output);
    }

    /** Run in the child JVM: decodes one WebP, then lists what the decode left in java.io.tmpdir. */
    static final class DecodeOneWebp {
        public static void main(String[] args) {
            RgbImage image = new ImageDecoder().decode(PilFixtures.bytes(args[0]), 1_000_000);
            System.out.println("decoded " + image.width() + "x" + image.height());
            String[] names = new File(System.getProperty("java.io.tmpdir")).list();
            Arrays.stream(names == null ? new String[0] : names).sorted().forEach(name -> System.out.println("unpacked " + name));
        }
    }
}

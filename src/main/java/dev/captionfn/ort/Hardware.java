package dev.captionfn.ort;

import dev.captionfn.modeldir.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a cache built on one machine depends on besides the model and ONNX Runtime: the CPU's
 * instruction set (an optimised graph can hold kernels laid out for AVX-512 that an AVX2 machine
 * cannot run), the TensorRT library and the GPU's compute capability (an engine runs only where it
 * was built). Unknown facts read "unknown", which still differs from any known value.
 */
final class Hardware {
    static final String UNKNOWN = "unknown";
    private static final Pattern TENSORRT_LIBRARY = Pattern.compile("libnvinfer\\.so\\.(\\d+(?:\\.\\d+)*)");
    /** Where TensorRT's libraries are installed by NVIDIA's packages and images, besides LD_LIBRARY_PATH. */
    private static final List<String> LIBRARY_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64", "/usr/local/lib", "/usr/local/tensorrt/lib", "/opt/tensorrt/lib");

    private Hardware() {}

    /** os.arch and a digest of the CPU's feature flags (/proc/cpuinfo). */
    static String cpu() {
        String flags = UNKNOWN;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                // x86 says "flags", ARM "Features"
                if (line.startsWith("flags") || line.startsWith("Features")) {
                    flags = Sha256.of(line.substring(line.indexOf(':') + 1).strip()).substring(0, 16);
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: the architecture alone
        }
        return System.getProperty("os.arch") + "/" + flags;
    }

    /** The newest libnvinfer.so.X.Y.Z on the library path, as TensorRT's version. */
    static String tensorRtVersion() {
        List<String> dirs = new ArrayList<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(List.of(ld.split(":")));
        }
        dirs.addAll(LIBRARY_DIRS);
        List<String> versions = new ArrayList<>();
        for (String dir : dirs) {
            if (dir.isBlank() || !Files.isDirectory(Path.of(dir))) {
                continue;
            }
            try (DirectoryStream<Path> libs = Files.newDirectoryStream(Path.of(dir), "libnvinfer.so.*")) {
                for (Path lib : libs) {
                    Matcher m = TENSORRT_LIBRARY.matcher(lib.getFileName().toString());
                    if (m.matches()) {
                        versions.add(m.group(1));
                    }
                }
            } catch (IOException e) {
                // an unreadable directory holds nothing we can use
            }
        }
        return versions.stream().max(Comparator.comparing(Hardware::versionKey)).orElse(UNKNOWN);
    }

    /** The GPU's compute capability ("9.0"), from nvidia-smi, which the NVIDIA container runtime mounts. */
    static String computeCapability(int device) {
        try {
            Process p = new ProcessBuilder("nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader", "-i",
                    Integer.toString(device)).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return UNKNOWN;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.exitValue() == 0 && out.matches("\\d+\\.\\d+") ? out : UNKNOWN;
        } catch (IOException e) {
            return UNKNOWN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return UNKNOWN;
        }
    }

    private static String versionKey(String version) {
        StringBuilder key = new StringBuilder();
        for (String part : version.split("\\.")) {
            key.append(String.format("%06d", Integer.parseInt(part)));
        }
        return key.toString();
    }
}

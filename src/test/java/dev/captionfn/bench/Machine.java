package dev.captionfn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the benchmark ran on, and a process's resident memory, from /proc (Linux). */
final class Machine {
    private Machine() {}

    static Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("cpu", firstValue(Path.of("/proc/cpuinfo"), "model name"));
        m.put("memoryGb", Math.round(kilobytes(Path.of("/proc/meminfo"), "MemTotal") / 1024.0 / 1024.0));
        m.put("os", osName());
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        return m;
    }

    /** VmRSS (now) or VmHWM (peak) of a process, in MB. */
    static long rssMb(long pid, String field) {
        return kilobytes(Path.of("/proc", Long.toString(pid), "status"), field) / 1024;
    }

    private static long kilobytes(Path file, String field) {
        String value = firstValue(file, field);
        return value == null ? -1 : Long.parseLong(value.replace("kB", "").trim());
    }

    private static String osName() {
        String pretty = firstValue(Path.of("/etc/os-release"), "PRETTY_NAME");
        return pretty != null ? pretty.replace("\"", "") : System.getProperty("os.name");
    }

    private static String firstValue(Path file, String key) {
        try {
            List<String> lines = Files.readAllLines(file);
            for (String line : lines) {
                int sep = line.indexOf(line.contains("=") && !line.contains(":") ? '=' : ':');
                if (sep > 0 && line.substring(0, sep).trim().equals(key)) {
                    return line.substring(sep + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no such process: the field stays unknown
        }
        return null;
    }
}

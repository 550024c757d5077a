package dev.captionfn.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged application (target/quarkus-app) started as its own process, as a platform runs
 * it, on a free loopback port, with its log kept for the test.
 */
public final class AppProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("Listening on: http://[^\\s]+:(\\d+)");
    public static final Path APP = Path.of("target/quarkus-app/quarkus-run.jar");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final Thread logReader;
    private final CompletableFuture<Integer> port = new CompletableFuture<>();
    private final boolean echo;

    private AppProcess(List<String> jvmOptions, List<String> systemProperties, List<String> args, boolean echo) throws IOException {
        this(jvmOptions, systemProperties, args, Map.of(), echo);
    }

    private AppProcess(List<String> jvmOptions, List<String> systemProperties, List<String> args, Map<String, String> environment,
            boolean echo) throws IOException {
        this.echo = echo;
        if (!Files.exists(APP)) {
            throw new IllegalStateException("package the application first: " + APP);
        }
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmOptions);
        command.add("-Dquarkus.http.port=0");
        command.add("-Dquarkus.http.host=127.0.0.1");
        systemProperties.forEach(p -> command.add("-D" + p));
        command.add("-jar");
        command.add(APP.toString());
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        process = builder.start();
        logReader = new Thread(this::readLog, "app-log");
        logReader.setDaemon(true);
        logReader.start();
    }

    /** Starts the application with these system properties ({@code key=value}) and waits until it listens. */
    public static AppProcess start(String... systemProperties) throws IOException {
        AppProcess app = new AppProcess(List.of(), List.of(systemProperties), List.of(), true);
        app.port();
        return app;
    }

    /** The same with JVM options (e.g. a heap size), its log kept but not echoed: the benchmark's way. */
    public static AppProcess startQuietly(List<String> jvmOptions, String... systemProperties) throws IOException {
        AppProcess app = new AppProcess(jvmOptions, List.of(systemProperties), List.of(), false);
        app.port();
        return app;
    }

    /** Starts the application with program arguments (e.g. {@code prepare}), without waiting for it to listen. */
    public static AppProcess withArguments(List<String> args, String... systemProperties) throws IOException {
        return new AppProcess(List.of(), List.of(systemProperties), args, true);
    }

    /**
     * Starts the application with these environment variables added to this process's (as a
     * platform sets them: CAPTIONFN_…) and program arguments, without waiting for it to listen.
     */
    public static AppProcess withEnvironment(Map<String, String> environment, List<String> args, String... systemProperties)
            throws IOException {
        return new AppProcess(List.of(), List.of(systemProperties), args, environment, true);
    }

    public long pid() {
        return process.pid();
    }

    private void readLog() {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                log.add(line);
                if (echo) {
                    System.out.println("[app] " + line);
                }
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port.complete(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException ended) {
            // the process ended
        }
        port.completeExceptionally(new AssertionError("the application ended before listening:\n" + log()));
    }

    public int port() {
        try {
            return port.get(90, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the application did not start:\n" + log(), e);
        }
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    public String log() {
        return String.join("\n", log);
    }

    public List<String> logLines() {
        return List.copyOf(log);
    }

    /** SIGTERM, what Kubernetes sends when it stops a pod. */
    public void terminate() {
        process.destroy();
    }

    /** SIGKILL: a crash, no shutdown at all. */
    public void kill() {
        process.destroyForcibly();
    }

    /** Waits for the process to end and its log to be read; its exit status, or -1 if it did not end in time. */
    public int waitForExit(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            return -1;
        }
        logReader.join(10_000);
        return process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }

    /** Polls {@code path} of the application until it answers {@code status}; fails with the log when it never does. */
    public void awaitStatus(String path, int status, Duration within) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        int last = -1;
        while (System.nanoTime() < end) {
            try {
                last = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (last == status) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new AssertionError(path + " never answered " + status + " (last " + last + ")\n" + log());
    }
}

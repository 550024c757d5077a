package dev.captionfn.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.captionfn.caption.Settings;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.model.BareModelLoop;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.VisionLanguageModel;
import dev.captionfn.ort.SessionSettings;
import dev.captionfn.testing.AppProcess;
import dev.captionfn.testing.ImageServer;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * captionfn against its bare model, on this machine: run with {@code ./mvnw -B -Pbench verify}
 * (the README's "Measured" section). It prints one JSON document and writes it to
 * target/benchmark.json.
 *
 * <ol>
 *   <li>The bare model ({@link BareModelLoop}): the three graphs in a tight loop on prepared
 *       inputs, with the beams and lengths captionfn's search takes for each image.
 *   <li>The packaged application as its own process, started {@code bench.starts} times on a fresh
 *       cache directory (cold: it builds the warm-start caches) and once more on each (warm):
 *       process start to readiness UP, and the time its three sessions took.
 *   <li>End to end over HTTP, images served on loopback by a real HTTP server, at each
 *       concurrency of {@code bench.concurrency}: captions/s, p50 and p99 latency, after a
 *       warm-up at that concurrency.
 *   <li>Peak RSS of the application (VmHWM), and with {@code bench.soak-seconds} > 0 a soak at the
 *       highest concurrency sampling its RSS.
 * </ol>
 *
 * Every request goes to 127.0.0.1. Settings are system properties: bench.seconds (15 per
 * concurrency), bench.warmup-seconds (5), bench.concurrency (1,4,16), bench.starts (3),
 * bench.soak-seconds (0), bench.app-jvm-options (-Xmx1g), bench.intra-op-threads (0: ONNX Runtime's
 * default, as the application's), bench.out (target/benchmark.json); for the decoder paths
 * bench.decoder-paths.contract1, .contract2 and .float16 (the default model's three exports; an
 * empty .float16 leaves that path out), .batches (1,8) and .only (false: the whole run).
 */
public final class Benchmark {
    private static final Path MODEL = TinyReference.MODEL_DIR;
    private static final int IMAGES = 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int seconds = Integer.getInteger("bench.seconds", 15);
    private final int warmUpSeconds = Integer.getInteger("bench.warmup-seconds", 5);
    private final int[] levels = Arrays.stream(System.getProperty("bench.concurrency", "1,4,16").split(","))
            .map(String::trim).mapToInt(Integer::parseInt).toArray();
    private final int starts = Integer.getInteger("bench.starts", 3);
    private final int soakSeconds = Integer.getInteger("bench.soak-seconds", 0);
    private final List<String> appJvmOptions = List.of(System.getProperty("bench.app-jvm-options", "-Xmx1g").trim().split("\\s+"));
    private final Path out = Path.of(System.getProperty("bench.out", "target/benchmark.json"));
    /** ONNX Runtime threads per operator for the bare model and the application alike; 0 = one per core. */
    private final int intraOpThreads = Integer.getInteger("bench.intra-op-threads", 0);
    /** The decoder paths' model directories: contract 1, its contract 2 export, and that with a float16 cache (empty: none). */
    private final Path contract1 = Path.of(System.getProperty("bench.decoder-paths.contract1", TinyReference.MODEL_DIR.toString()));
    private final Path contract2 = Path.of(System.getProperty("bench.decoder-paths.contract2", TinyReference.MODEL_DIR_V2.toString()));
    private final String float16 = System.getProperty("bench.decoder-paths.float16", TinyReference.MODEL_DIR_V2_FP16_KV.toString());
    private final int[] pathBatches = Arrays.stream(System.getProperty("bench.decoder-paths.batches", "1,8").split(","))
            .map(String::trim).mapToInt(Integer::parseInt).toArray();
    /** Only the decoder paths: for comparing them on a larger model without the rest of the run. */
    private final boolean decoderPathsOnly = Boolean.getBoolean("bench.decoder-paths.only");
    private final SessionSettings sessions = TestConfig.cpuSessions(intraOpThreads, 0);
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    public static void main(String[] args) throws Exception {
        new Benchmark().run();
        // the image server's and the HTTP client's threads
        System.exit(0);
    }

    private static void progress(String format, Object... args) {
        System.err.printf("[bench] " + format + "%n", args);
    }

    private void run() throws Exception {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("when", Instant.now().toString());
        report.put("machine", Machine.describe());
        report.put("images", IMAGES + " drawings of src/test/resources/tiny-reference (303x259 PNG), default prompt and options");

        if (decoderPathsOnly) {
            report.put("decoderPaths", decoderPaths());
            write(report);
            return;
        }
        Map<String, Object> bare = bareModel();
        report.put("bare", bare);
        report.put("decoderPaths", decoderPaths());
        double bareMs = (double) bare.get("msPerCaption");

        ImageServer images = ImageServer.get();
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            urls.add(images.image("tiny-reference/scene-%02d.png".formatted(i)));
        }

        // each start twice on the same cache volume: cold (an empty cache, which it fills), then warm
        Map<String, List<Long>> readyMillis = new LinkedHashMap<>(Map.of("cold", new ArrayList<>(), "warm", new ArrayList<>()));
        Map<String, List<Long>> sessionMillis = new LinkedHashMap<>(Map.of("cold", new ArrayList<>(), "warm", new ArrayList<>()));
        AppProcess app = null;
        for (int i = 0; i < starts; i++) {
            Path cache = Files.createTempDirectory("captionfn-bench-cache");
            for (String kind : List.of("cold", "warm")) {
                if (app != null) {
                    app.close();
                    app.waitForExit(30);
                }
                long t0 = System.nanoTime();
                app = AppProcess.startQuietly(appJvmOptions, "captionfn.fetch.allow-private-addresses=true",
                        "captionfn.model.intra-op-threads=" + intraOpThreads, "captionfn.cache.dir=" + cache);
                awaitReady(app);
                readyMillis.get(kind).add((System.nanoTime() - t0) / 1_000_000);
                sessionMillis.get(kind).add(sessionMillis(app));
                progress("start %d, %s cache: ready after %d ms, sessions %d ms", i + 1, kind,
                        readyMillis.get(kind).get(i), sessionMillis.get(kind).get(i));
            }
        }
        Map<String, Object> startup = new LinkedHashMap<>();
        for (String kind : List.of("cold", "warm")) {
            startup.put(kind, Map.of("readyMs", readyMillis.get(kind), "readyMedianMs", median(readyMillis.get(kind)),
                    "sessionsMs", sessionMillis.get(kind), "sessionsMedianMs", median(sessionMillis.get(kind))));
        }
        report.put("startupToReady", startup);

        try (AppProcess running = app) {
            URI caption = URI.create(running.baseUrl() + "/caption");
            List<Map<String, Object>> endToEnd = new ArrayList<>();
            URI metrics = URI.create(running.baseUrl() + "/q/metrics");
            for (int c : levels) {
                load(caption, urls, c, warmUpSeconds, null);
                double[] before = batchSumAndCount(metrics);
                Map<String, Object> level = load(caption, urls, c, seconds, null);
                double[] after = batchSumAndCount(metrics);
                level.put("meanRequestsPerBatch", round((after[0] - before[0]) / (after[1] - before[1]), 2));
                endToEnd.add(level);
                progress("concurrency %d: %s", c, level);
            }
            report.put("endToEnd", endToEnd);
            Map<String, Object> first = endToEnd.get(0);
            Map<String, Object> last = endToEnd.get(endToEnd.size() - 1);
            Map<String, Object> ratios = new LinkedHashMap<>();
            ratios.put("overheadAtConcurrency" + first.get("concurrency"), round((double) first.get("msPerCaption") / bareMs, 3));
            ratios.put("overheadP50AtConcurrency" + first.get("concurrency"), round((double) first.get("p50Ms") / bareMs, 3));
            ratios.put("captionsPerSecond" + last.get("concurrency") + "vs" + first.get("concurrency"),
                    round((double) last.get("captionsPerSecond") / (double) first.get("captionsPerSecond"), 2));
            ratios.put("captionsPerSecond" + last.get("concurrency") + "vsBare",
                    round((double) last.get("captionsPerSecond") / (1000 / bareMs), 2));
            report.put("ratios", ratios);
            report.put("app", Map.of(
                    "jvmOptions", appJvmOptions,
                    "peakRssMb", Machine.rssMb(running.pid(), "VmHWM"),
                    "rssNowMb", Machine.rssMb(running.pid(), "VmRSS")));
            if (soakSeconds > 0) {
                report.put("soak", soak(caption, urls, running.pid(), levels[levels.length - 1]));
            }
        }
        write(report);
    }

    private void write(Map<String, Object> report) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        String text = json.writeValueAsString(report);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, text + "\n");
        System.out.println(text);
        progress("written to %s", out);
    }

    private Map<String, Object> bareModel() throws Exception {
        try (LoadedModel model = TestConfig.load(MODEL, sessions)) {
            List<VisionLanguageModel.Input> inputs = prepared(model);
            try (BareModelLoop loop = BareModelLoop.prepare(model, sessions, inputs)) {
                long warmUntil = System.nanoTime() + Duration.ofSeconds(warmUpSeconds).toNanos();
                for (int i = 0; System.nanoTime() < warmUntil || i < loop.size(); i++) {
                    loop.caption(i);
                }
                long[] each = new long[1_000_000];
                int n = 0;
                long start = System.nanoTime();
                long until = start + Duration.ofSeconds(seconds).toNanos();
                for (long t = start; t < until || n % loop.size() != 0; ) {
                    loop.caption(n);
                    long now = System.nanoTime();
                    each[n++] = now - t;
                    t = now;
                }
                double elapsedMs = (System.nanoTime() - start) / 1e6;
                Map<String, Object> bare = new LinkedHashMap<>();
                bare.put("captions", n);
                bare.put("msPerCaption", round(elapsedMs / n, 3));
                bare.put("p50Ms", percentileMs(Arrays.copyOf(each, n), 50));
                bare.put("beams", model.decoding().defaults().numBeams());
                bare.put("meanDecoderStepsAfterPrefill",
                        round(loop.traces().stream().mapToInt(t -> t.rowsPerStep().length).average().orElse(0), 2));
                bare.put("intraOpThreads", intraOpThreads == 0 ? "one per core (ONNX Runtime's default), as the application" : intraOpThreads);
                bare.put("searchPathMsPerCaption", searchPath(model, inputs));
                progress("bare model: %s", bare);
                return bare;
            }
        }
    }

    /**
     * The same captions through captionfn's own model code (VisionLanguageModel.generate: the
     * search, the KV cache reordered, tensors made per step), one at a time, in this JVM: the part
     * of the overhead that is not HTTP, fetching or image decoding.
     */
    private double searchPath(LoadedModel model, List<VisionLanguageModel.Input> inputs) {
        long warmUntil = System.nanoTime() + Duration.ofSeconds(warmUpSeconds).toNanos();
        for (int i = 0; System.nanoTime() < warmUntil || i < inputs.size(); i++) {
            TestConfig.generate(model.model(), List.of(inputs.get(i % inputs.size())));
        }
        int n = 0;
        long start = System.nanoTime();
        long until = start + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < until || n % inputs.size() != 0) {
            TestConfig.generate(model.model(), List.of(inputs.get(n++ % inputs.size())));
        }
        return round((System.nanoTime() - start) / 1e6 / n, 3);
    }

    /** A way to run the decoder: a model directory and captionfn.model.io-binding. */
    private record DecoderPath(String name, Path dir, boolean ioBinding) {}

    /**
     * Today's path against the bound one, on the same machine in one run: the default model as
     * contract 1 (the Java API, the cache gathered on the host), its contract 2 export through the
     * Java API, bound (I/O binding), and bound with a float16 cache. Rounds of every path alternate,
     * so that the machine's drift falls on all alike; each path's figure is its median round.
     * One caption at a time, and batches of eight (a 40-row decoder batch at 5 beams).
     */
    private Map<String, Object> decoderPaths() throws Exception {
        List<DecoderPath> paths = new ArrayList<>(List.of(
                new DecoderPath("contract1JavaApi", contract1, false),
                new DecoderPath("contract2JavaApi", contract2, false),
                new DecoderPath("contract2Bound", contract2, true)));
        if (!float16.isBlank()) {
            paths.add(new DecoderPath("contract2BoundFloat16Cache", Path.of(float16), true));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("models", Map.of("contract1", contract1.toString(), "contract2", contract2.toString(), "float16Cache", float16));
        for (int batch : pathBatches) {
            List<LoadedModel> models = new ArrayList<>();
            List<List<VisionLanguageModel.Input>> inputs = new ArrayList<>();
            Map<String, List<Double>> rounds = new LinkedHashMap<>();
            try {
                for (DecoderPath path : paths) {
                    SessionSettings settings = Settings.sessions(TestConfig.of(Map.of(
                            "captionfn.model.intra-op-threads", Integer.toString(intraOpThreads),
                            "captionfn.model.io-binding", Boolean.toString(path.ioBinding()))));
                    LoadedModel model = TestConfig.load(path.dir(), settings);
                    models.add(model);
                    inputs.add(prepared(model));
                    rounds.put(path.name(), new ArrayList<>());
                }
                long warmUntil = System.nanoTime() + Duration.ofSeconds(warmUpSeconds).toNanos();
                while (System.nanoTime() < warmUntil) {
                    for (int p = 0; p < paths.size(); p++) {
                        captions(models.get(p), inputs.get(p), batch, IMAGES);
                    }
                }
                long until = System.nanoTime() + Duration.ofSeconds(seconds).toNanos() * paths.size();
                while (System.nanoTime() < until || rounds.values().iterator().next().size() < 3) {
                    for (int p = 0; p < paths.size(); p++) {
                        rounds.get(paths.get(p).name()).add(captions(models.get(p), inputs.get(p), batch, IMAGES));
                    }
                }
            } finally {
                models.forEach(LoadedModel::close);
            }
            Map<String, Object> figures = new LinkedHashMap<>();
            rounds.forEach((name, ms) -> figures.put(name + "MsPerCaption", round(medianMs(ms), 3)));
            double today = medianMs(rounds.get("contract1JavaApi"));
            figures.put("boundOverToday", round(medianMs(rounds.get("contract2Bound")) / today, 3));
            figures.put("boundOverContract2JavaApi",
                    round(medianMs(rounds.get("contract2Bound")) / medianMs(rounds.get("contract2JavaApi")), 3));
            figures.put("rounds", rounds.values().iterator().next().size());
            progress("decoder paths, batches of %d: %s", batch, figures);
            out.put("batchOf" + batch, figures);
        }
        return out;
    }

    private static List<VisionLanguageModel.Input> prepared(LoadedModel model) {
        ImageDecoder decoder = new ImageDecoder();
        List<VisionLanguageModel.Input> inputs = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            var image = decoder.decode(TinyReference.bytes("tiny-reference/scene-%02d.png".formatted(i)), 40_000_000);
            inputs.add(model.processor().prepare(image, model.manifest().prompt(), model.decoding().defaults()));
        }
        return inputs;
    }

    /** Captions every input once, {@code batch} to a generate call; ms per caption. */
    private static double captions(LoadedModel model, List<VisionLanguageModel.Input> inputs, int batch, int count) {
        long start = System.nanoTime();
        for (int from = 0; from < count; from += batch) {
            TestConfig.generate(model.model(), inputs.subList(from, Math.min(count, from + batch)));
        }
        return (System.nanoTime() - start) / 1e6 / count;
    }

    private static double medianMs(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static final Pattern SESSION = Pattern.compile("graph \\w+ runs on \\w+: session in (\\d+) ms");

    /** The three graphs' session times from the application's log. */
    private static long sessionMillis(AppProcess app) {
        long total = 0;
        for (String line : app.logLines()) {
            Matcher m = SESSION.matcher(line);
            if (m.find()) {
                total += Long.parseLong(m.group(1));
            }
        }
        return total;
    }

    private static long median(List<Long> values) {
        return values.stream().sorted().toList().get(values.size() / 2);
    }

    private void awaitReady(AppProcess app) throws Exception {
        URI ready = URI.create(app.baseUrl() + "/q/health/ready");
        long until = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < until) {
            try {
                if (http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("the application never became ready:\n" + app.log());
    }

    /**
     * {@code clients} threads, each sending one request after the other for {@code forSeconds};
     * {@code every10s}, when given, runs every 10 s meanwhile (the soak's RSS samples).
     */
    private Map<String, Object> load(URI caption, List<String> urls, int clients, int forSeconds, Runnable every10s)
            throws Exception {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        Map<String, double[]> stages = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        long until = start + Duration.ofSeconds(forSeconds).toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<long[]>> workers = new ArrayList<>();
        for (int w = 0; w < clients; w++) {
            workers.add(pool.submit(() -> {
                long[] latencies = new long[1 << 16];
                int n = 0;
                while (System.nanoTime() < until) {
                    String url = urls.get(Math.floorMod(next.getAndIncrement(), urls.size()));
                    byte[] body = ("{\"imageUrl\":\"" + url + "\"}").getBytes(StandardCharsets.UTF_8);
                    long t0 = System.nanoTime();
                    Answer answer = post(caption, body);
                    long took = System.nanoTime() - t0;
                    if (answer.status() != 200) {
                        errors.incrementAndGet();
                        continue;
                    }
                    JSON.readTree(answer.body()).get("timings").fields().forEachRemaining(stage -> {
                        double[] sum = stages.computeIfAbsent(stage.getKey(), k -> new double[2]);
                        synchronized (sum) {
                            sum[0] += stage.getValue().asDouble();
                            sum[1]++;
                        }
                    });
                    if (n == latencies.length) {
                        latencies = Arrays.copyOf(latencies, 2 * n);
                    }
                    latencies[n++] = took;
                }
                return Arrays.copyOf(latencies, n);
            }));
        }
        if (every10s != null) {
            while (System.nanoTime() < until) {
                Thread.sleep(Math.min(10_000, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
                every10s.run();
            }
        }
        List<long[]> all = new ArrayList<>();
        for (Future<long[]> f : workers) {
            all.add(f.get());
        }
        double elapsedS = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        long[] latencies = all.stream().flatMapToLong(Arrays::stream).toArray();
        Map<String, Object> level = new LinkedHashMap<>();
        level.put("concurrency", clients);
        level.put("captions", latencies.length);
        level.put("errors", errors.get());
        level.put("captionsPerSecond", round(latencies.length / elapsedS, 2));
        // time per caption as a caller sees the machine's capacity: elapsed × clients / captions
        level.put("msPerCaption", round(elapsedS * 1000 / latencies.length, 3));
        level.put("p50Ms", percentileMs(latencies, 50));
        level.put("p99Ms", percentileMs(latencies, 99));
        // the application's own account of each request (CaptionResult.timings), averaged
        Map<String, Double> means = new LinkedHashMap<>();
        stages.forEach((stage, sum) -> means.put(stage.replace("Ms", ""), round(sum[0] / sum[1], 3)));
        level.put("meanStagesMs", means);
        return level;
    }

    /** The application's captionfn_batch_requests summary: [sum, count]. */
    private static double[] batchSumAndCount(URI metrics) throws IOException {
        HttpURLConnection c = (HttpURLConnection) metrics.toURL().openConnection();
        String text;
        try (InputStream in = c.getInputStream()) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        double[] sumAndCount = new double[2];
        String[] names = {"captionfn_batch_requests_sum", "captionfn_batch_requests_count"};
        for (int i = 0; i < 2; i++) {
            Matcher m = Pattern.compile("(?m)^" + names[i] + "(?:\\{[^}]*})? ([0-9.Ee+-]+)$").matcher(text);
            sumAndCount[i] = m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
        }
        return sumAndCount;
    }

    private record Answer(int status, byte[] body) {}

    /**
     * One POST on a kept-alive connection. HttpURLConnection rather than java.net.http's client: it
     * sends on the calling thread, so the client's own cost stays small in a latency that is
     * measured on the same two cores as the application.
     */
    private static Answer post(URI uri, byte[] body) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setFixedLengthStreamingMode(body.length);
        c.setRequestProperty("Content-Type", "application/json");
        try (OutputStream out = c.getOutputStream()) {
            out.write(body);
        }
        int status = c.getResponseCode();
        try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
            // read to the end, so that the connection goes back to the keep-alive pool
            return new Answer(status, in == null ? new byte[0] : in.readAllBytes());
        }
    }

    private Map<String, Object> soak(URI caption, List<String> urls, long pid, int clients) throws Exception {
        List<Long> samples = new ArrayList<>();
        progress("soak: %d s at concurrency %d", soakSeconds, clients);
        Map<String, Object> level = load(caption, urls, clients, soakSeconds, () -> samples.add(Machine.rssMb(pid, "VmRSS")));
        Map<String, Object> soak = new LinkedHashMap<>();
        soak.put("seconds", soakSeconds);
        soak.put("load", level);
        soak.put("rssMbEvery10s", samples);
        // the first minute is warm-up: heap and arenas grow to their working size
        int warm = Math.min(samples.size() - 1, 6);
        long afterWarmUp = samples.get(Math.max(0, warm - 1));
        long end = samples.get(samples.size() - 1);
        soak.put("rssMbAfterWarmUp", afterWarmUp);
        soak.put("rssMbAtEnd", end);
        soak.put("endOverWarmUp", round((double) end / afterWarmUp, 3));
        return soak;
    }

    private static double percentileMs(long[] nanos, int percentile) {
        if (nanos.length == 0) {
            return Double.NaN;
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return round(sorted[Math.max(0, index)] / 1e6, 3);
    }

    static double round(double value, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }
}

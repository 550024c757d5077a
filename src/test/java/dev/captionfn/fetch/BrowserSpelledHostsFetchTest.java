package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Where loopback is allowed (as in the app's test profile), a URL that spells 127.0.0.1 the way a
 * browser reads it is fetched from 127.0.0.1 itself, and an internationalised name is resolved
 * and sent in the Host header as punycode: the original spelling never reaches DNS or the wire.
 * The server listens on 127.0.0.1 only and records each request's Host header.
 */
class BrowserSpelledHostsFetchTest {
    private static final FetchLimits LOOPBACK_ALLOWED = new FetchLimits(Duration.ofSeconds(5), Duration.ofSeconds(10),
            20L * 1024 * 1024, 5, "captionfn-test", true, List.of());
    private static Vertx vertx;

    private HttpServer server;
    private byte[] image;
    private final ConcurrentLinkedQueue<String> hostHeaders = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> asked = new ConcurrentLinkedQueue<>();
    private ImageFetcher fetcher;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void closeVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void start() throws IOException {
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("tiny-reference/scene-00.png")) {
            image = in.readAllBytes();
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 16);
        // /to?<url> answers 302 to that URL
        server.createContext("/to", exchange -> {
            exchange.getResponseHeaders().add("Location", exchange.getRequestURI().getRawQuery());
            exchange.sendResponseHeaders(302, -1);
            exchange.close();
        });
        server.createContext("/", exchange -> {
            hostHeaders.add(exchange.getRequestHeaders().getFirst("Host"));
            exchange.getResponseHeaders().add("Content-Type", "image/png");
            exchange.sendResponseHeaders(200, image.length);
            exchange.getResponseBody().write(image);
            exchange.close();
        });
        server.start();
        Map<String, String> names = Map.of("xn--bcher-kva.example", "127.0.0.1");
        fetcher = new ImageFetcher(vertx, LOOPBACK_ALLOWED, host -> {
            asked.add(host);
            if (!names.containsKey(host)) {
                throw new UnknownHostException(host);
            }
            return List.of(InetAddress.getByName(names.get(host)));
        });
    }

    @AfterEach
    void stop() {
        fetcher.close();
        server.stop(0);
    }

    private byte[] fetch(String url) throws Exception {
        return fetcher.fetch(FetchUrl.parse(url)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void everySpellingOfTheLoopbackAddressFetchesFromIt() throws Exception {
        int port = server.getAddress().getPort();
        Map<String, String> hostHeaderBySpelling = Map.of(
                "0x7f000001", "127.0.0.1:" + port,
                "127.1", "127.0.0.1:" + port,
                "0177.0.0.1", "127.0.0.1:" + port,
                "2130706433", "127.0.0.1:" + port,
                "%31%32%37.0.0.1", "127.0.0.1:" + port,
                "１２７.０.０.１", "127.0.0.1:" + port,
                "127.0.0.1.", "127.0.0.1:" + port,
                "[::ffff:127.0.0.1]", "[::ffff:7f00:1]:" + port);
        for (var spelling : hostHeaderBySpelling.entrySet()) {
            hostHeaders.clear();
            assertArrayEquals(image, fetch("http://" + spelling.getKey() + ":" + port + "/scene-00.png"), spelling.getKey());
            assertEquals(List.of(spelling.getValue()), List.copyOf(hostHeaders), spelling.getKey());
        }
        assertEquals(List.of(), List.copyOf(asked), "no address spelling is a DNS question");
    }

    @Test
    void aRedirectIsReadAsABrowserReadsIt() throws Exception {
        int port = server.getAddress().getPort();
        assertArrayEquals(image, fetch("http://127.0.0.1:" + port + "/to?http://0x7f.1:" + port + "/scene-00.png"));
        assertEquals(List.of("127.0.0.1:" + port), List.copyOf(hostHeaders), "the image was asked for from 0x7f.1 as 127.0.0.1");
        // a Location no browser reads is the image server's fault: FAILED, not INVALID_URL
        var failure = assertThrows(ExecutionException.class,
                () -> fetch("http://127.0.0.1:" + port + "/to?http://256.256.256.256/x.png"));
        FetchException e = (FetchException) failure.getCause();
        assertEquals(FetchError.FAILED, e.error());
        assertTrue(e.getMessage().contains("redirected to http://256.256.256.256/x.png"), e.getMessage());
        assertTrue(e.getMessage().contains("the host '256.256.256.256'"), e.getMessage());
        assertEquals(List.of(), List.copyOf(asked));
    }

    @Test
    void anInternationalisedNameIsResolvedAndSentAsPunycode() throws Exception {
        int port = server.getAddress().getPort();
        assertArrayEquals(image, fetch("http://Bücher.example:" + port + "/scene-00.png"));
        assertEquals(List.of("xn--bcher-kva.example"), List.copyOf(asked));
        assertEquals(List.of("xn--bcher-kva.example:" + port), List.copyOf(hostHeaders));
    }
}

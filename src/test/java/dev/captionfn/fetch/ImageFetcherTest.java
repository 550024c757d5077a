package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.ImageServer;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fetcher as a unit, without the application: a Vert.x of its own, the test image server on
 * 127.0.0.1, names resolved by a map, and limits that allow 127.0.0.0/8 by network the way an
 * internal image store is allowed, so the production policy refuses everything else. Each failure
 * is checked for its exact {@link FetchError} and message; the HTTP status and body the caller
 * then sees are the e2e tests' business (BadInputsTest, StrictAddressPolicyTest).
 */
class ImageFetcherTest {
    private static final String GOOD = "tiny-reference/scene-00.png";
    private static final FetchLimits LIMITS = new FetchLimits(Duration.ofSeconds(2), Duration.ofSeconds(5), 20L * 1024 * 1024, 3,
            "captionfn-test/1", false, List.of(Cidr.parse("127.0.0.0/8")));

    private static Vertx vertx;
    private static byte[] image;

    private final ImageServer server = ImageServer.get();
    private final ConcurrentLinkedQueue<String> asked = new ConcurrentLinkedQueue<>();
    private final List<ImageFetcher> fetchers = new ArrayList<>();

    /** Names as DNS would answer them; anything else is unknown, so nothing here asks a real DNS server. */
    private final HostResolver resolver = host -> {
        asked.add(host);
        String address = Map.of("images.test", "127.0.0.1", "metadata.test", "169.254.169.254").get(host);
        if (address == null) {
            throw new UnknownHostException(host);
        }
        return List.of(InetAddress.getByName(address));
    };

    @BeforeAll
    static void start() throws IOException {
        vertx = Vertx.vertx();
        try (InputStream in = ImageFetcherTest.class.getClassLoader().getResourceAsStream(GOOD)) {
            image = in.readAllBytes();
        }
    }

    @AfterAll
    static void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void closeFetchers() {
        fetchers.forEach(ImageFetcher::close);
    }

    private ImageFetcher fetcher(FetchLimits limits) {
        ImageFetcher fetcher = new ImageFetcher(vertx, limits, resolver);
        fetchers.add(fetcher);
        return fetcher;
    }

    private static FetchLimits withMaxBytes(long maxBytes) {
        return new FetchLimits(LIMITS.connectTimeout(), LIMITS.timeout(), maxBytes, LIMITS.maxRedirects(), LIMITS.userAgent(),
                false, LIMITS.allowedNetworks());
    }

    private static byte[] fetch(ImageFetcher fetcher, String url) throws Exception {
        return fetcher.fetch(FetchUrl.parse(url)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static FetchException failure(ImageFetcher fetcher, String url) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> fetch(fetcher, url), url);
        return assertInstanceOf(FetchException.class, e.getCause());
    }

    private static void assertFailure(FetchError error, String message, FetchException e) {
        assertEquals(message, e.getMessage());
        assertEquals(error, e.error(), e.getMessage());
    }

    @Test
    void anImageIsFetchedByteForByte() throws Exception {
        assertArrayEquals(image, fetch(fetcher(LIMITS), server.image(GOOD)));
    }

    @Test
    void redirectsAreFollowedHopByHopUpToTheLimit() throws Exception {
        ImageFetcher fetcher = fetcher(LIMITS);
        String threeHops = server.redirectTo(server.redirectTo(server.redirectTo(server.image(GOOD))));
        assertArrayEquals(image, fetch(fetcher, threeHops));
        assertArrayEquals(image, fetch(fetcher, server.redirectTo("/images/" + GOOD)), "a relative Location");
        // a name in a Location is resolved like the first URL's
        assertArrayEquals(image, fetch(fetcher, server.redirectTo("http://images.test:" + server.port() + "/images/" + GOOD)));
        assertEquals(List.of("images.test"), List.copyOf(asked));
    }

    @Test
    void oneRedirectPastTheLimitFailsNamingTheUrlAskedFor() {
        String fourHops = server.redirectTo(server.redirectTo(server.redirectTo(server.redirectTo(server.image(GOOD)))));
        assertFailure(FetchError.FAILED, fourHops + " redirected more than 3 times (a redirect loop?)",
                failure(fetcher(LIMITS), fourHops));
    }

    @Test
    void aRedirectLoopEndsAtTheLimit() {
        assertFailure(FetchError.FAILED, server.redirectLoop() + " redirected more than 3 times (a redirect loop?)",
                failure(fetcher(LIMITS), server.redirectLoop()));
    }

    @Test
    void noRedirectIsFollowedWhenTheLimitIsZero() {
        FetchLimits none = new FetchLimits(LIMITS.connectTimeout(), LIMITS.timeout(), LIMITS.maxBytes(), 0, LIMITS.userAgent(),
                false, LIMITS.allowedNetworks());
        String url = server.redirectTo(server.image(GOOD));
        assertFailure(FetchError.FAILED, url + " redirected more than 0 times (a redirect loop?)", failure(fetcher(none), url));
    }

    @Test
    void aRedirectWithoutALocationFails() {
        String url = server.redirectTo("");
        assertFailure(FetchError.FAILED, url + " answered HTTP 302 without a Location", failure(fetcher(LIMITS), url));
    }

    @Test
    void aLocationThatIsNoUrlFails() {
        String url = server.redirectTo("http://exa mple.com/");
        assertFailure(FetchError.FAILED, url + " redirected to an invalid URL: http://exa mple.com/", failure(fetcher(LIMITS), url));
    }

    @Test
    void aRedirectToARefusedAddressIsNotAllowedAndNeverConnected() {
        ImageFetcher fetcher = fetcher(LIMITS);
        String metadata = server.redirectTo("http://169.254.169.254/latest/meta-data/");
        assertFailure(FetchError.NOT_ALLOWED, metadata + " redirected to http://169.254.169.254/latest/meta-data/: "
                + "169.254.169.254 is a link-local address (cloud metadata services live here): private and special-use"
                + " addresses are not fetched unless captionfn.fetch.allow-private-addresses or allowed-networks allow them",
                failure(fetcher, metadata));
        String byName = server.redirectTo("http://metadata.test/latest/meta-data/");
        FetchException e = failure(fetcher, byName);
        assertEquals(FetchError.NOT_ALLOWED, e.error());
        assertTrue(e.getMessage().startsWith(byName + " redirected to http://metadata.test/latest/meta-data/: "
                + "'metadata.test' resolves to 169.254.169.254; 169.254.169.254 is a link-local address"), e.getMessage());
        // ::1 is loopback too, but outside the allowed 127.0.0.0/8
        String v6 = server.redirectTo("http://[::1]:" + server.port() + "/images/" + GOOD);
        assertEquals(FetchError.NOT_ALLOWED, failure(fetcher, v6).error());
        String ftp = server.redirectTo("ftp://127.0.0.1/image.png");
        assertFailure(FetchError.NOT_ALLOWED, ftp + " redirected to ftp://127.0.0.1/image.png: only http and https URLs are fetched,"
                + " not 'ftp:'", failure(fetcher, ftp));
    }

    @Test
    void aRefusedFirstUrlIsNotAllowedInThePolicysOwnWords() {
        String url = "http://[::1]:" + server.port() + "/images/" + GOOD;
        assertFailure(FetchError.NOT_ALLOWED, "[::1] is a loopback address: private and special-use addresses are not fetched"
                + " unless captionfn.fetch.allow-private-addresses or allowed-networks allow them", failure(fetcher(LIMITS), url));
    }

    @Test
    void anUnknownHostFails() {
        assertFailure(FetchError.FAILED, "the host 'nowhere.test' of http://nowhere.test/a.png is unknown",
                failure(fetcher(LIMITS), "http://nowhere.test/a.png"));
        assertEquals(List.of("nowhere.test"), List.copyOf(asked));
    }

    @Test
    void aRefusedConnectionFails() throws IOException {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = socket.getLocalPort();
        }
        String url = "http://127.0.0.1:" + closed + "/a.png";
        FetchException e = failure(fetcher(LIMITS), url);
        assertEquals(FetchError.FAILED, e.error());
        assertTrue(e.getMessage().startsWith("cannot connect to " + url + ": "), e.getMessage());
    }

    @ParameterizedTest(name = "HTTP {0} is FAILED")
    @ValueSource(ints = {400, 403, 404, 410, 451})
    void aClientErrorStatusFails(int status) {
        assertFailure(FetchError.FAILED, server.status(status) + " answered HTTP " + status,
                failure(fetcher(LIMITS), server.status(status)));
    }

    @ParameterizedTest(name = "HTTP {0} is UPSTREAM_ERROR")
    @ValueSource(ints = {500, 502, 503, 504, 429, 408})
    void aServerErrorOrAskToComeBackLaterIsAnUpstreamError(int status) {
        assertFailure(FetchError.UPSTREAM_ERROR, server.status(status) + " answered HTTP " + status,
                failure(fetcher(LIMITS), server.status(status)));
    }

    @Test
    void aBodyOfExactlyTheLimitIsReadAndOneByteMoreIsRefusedFromItsContentLength() throws Exception {
        assertArrayEquals(image, fetch(fetcher(withMaxBytes(image.length)), server.image(GOOD)));
        String url = server.image(GOOD);
        assertFailure(FetchError.TOO_LARGE, url + " is larger than the limit of " + (image.length - 1) + " bytes (it declares "
                + image.length + ")", failure(fetcher(withMaxBytes(image.length - 1)), url));
    }

    @Test
    void aDeclaredLengthPastTheLimitIsRefusedBeforeReading() {
        String url = server.hugeDeclared(1_000_000_000L);
        long start = System.nanoTime();
        assertFailure(FetchError.TOO_LARGE, url + " is larger than the limit of 1000 bytes (it declares 1000000000)",
                failure(fetcher(withMaxBytes(1000)), url));
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "a gigabyte was not read");
    }

    @Test
    void aStreamedBodyPastTheLimitIsRefusedAndTheFetcherGoesOn() throws Exception {
        ImageFetcher fetcher = fetcher(withMaxBytes(image.length));
        // no Content-Length and no end: only the streamed count can stop it
        assertFailure(FetchError.TOO_LARGE, server.hugeChunked() + " is larger than the limit of " + image.length + " bytes",
                failure(fetcher, server.hugeChunked()));
        assertArrayEquals(image, fetch(fetcher, server.image(GOOD)));
    }

    @Test
    void oneDeadlineBoundsTheWholeFetch() {
        FetchLimits quick = new FetchLimits(LIMITS.connectTimeout(), Duration.ofMillis(500), LIMITS.maxBytes(), LIMITS.maxRedirects(),
                LIMITS.userAgent(), false, LIMITS.allowedNetworks());
        ImageFetcher fetcher = fetcher(quick);
        assertFailure(FetchError.TIMEOUT, "fetching " + server.never() + " took longer than 500 ms", failure(fetcher, server.never()));
        // a redirect does not start the clock again: the message names the URL asked for
        String url = server.redirectTo(server.slowImage(3000, GOOD));
        long start = System.nanoTime();
        assertFailure(FetchError.TIMEOUT, "fetching " + url + " took longer than 500 ms", failure(fetcher, url));
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(2500), "not the 3 s the image takes");
    }

    @Test
    void everyRequestCarriesTheUserAgentTheParsedHostAndAsksForAnImage() throws Exception {
        ConcurrentLinkedQueue<MultiMap> headers = new ConcurrentLinkedQueue<>();
        HttpServer recorder = vertx.createHttpServer().requestHandler(request -> {
            headers.add(MultiMap.caseInsensitiveMultiMap().addAll(request.headers()));
            request.response().end(Buffer.buffer(image));
        });
        recorder.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            int port = recorder.actualPort();
            assertArrayEquals(image, fetch(fetcher(LIMITS), "http://IMAGES.test:" + port + "/a.png?size=1"));
            MultiMap sent = headers.remove();
            assertEquals("captionfn-test/1", sent.get("User-Agent"));
            assertEquals("image/*", sent.get("Accept"));
            assertEquals("images.test:" + port, sent.get("Host"));
        } finally {
            recorder.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}

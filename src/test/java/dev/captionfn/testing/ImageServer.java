package dev.captionfn.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A real HTTP server on a loopback address that serves the test images from the classpath, plus
 * the misbehaving answers the error tests need. One per address per test JVM.
 *
 * <ul>
 *   <li>{@code /images/<path>}: the classpath resource {@code <path>}, with a Content-Type that
 *       deliberately says nothing true (the function must sniff the bytes)
 *   <li>{@code /slow/<ms>/<path>}: the same after a pause
 *   <li>{@code /status/<code>}: an empty answer with that status
 *   <li>{@code /never}: accepts the request and never answers
 *   <li>{@code /huge/declared/<bytes>}: declares that many bytes in Content-Length and sends them
 *   <li>{@code /huge/chunked}: a chunked body that never ends
 *   <li>{@code /redirect/loop}: redirects to itself
 *   <li>{@code /redirect/to?url=<url>}: redirects to the URL
 * </ul>
 */
public final class ImageServer {
    private static final Map<String, ImageServer> SERVERS = new ConcurrentHashMap<>();
    /** Bytes an endless body sends at most, in case a client never stops reading. */
    private static final long ENDLESS_CAP = 512L * 1024 * 1024;

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-image-server");
        t.setDaemon(true);
        return t;
    });

    static {
        // the JDK server writes headers and body separately: with Nagle's algorithm on, the body
        // waits for the client's delayed ACK of the headers, 40 ms on Linux, on every image
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private ImageServer(InetAddress address) throws IOException {
        server = HttpServer.create(new InetSocketAddress(address, 0), 64);
        server.createContext("/images/", this::image);
        server.createContext("/slow/", this::slow);
        server.createContext("/status/", this::status);
        server.createContext("/never", this::never);
        server.createContext("/huge/declared/", this::hugeDeclared);
        server.createContext("/huge/chunked", this::hugeChunked);
        server.createContext("/redirect/loop", e -> redirect(e, "/redirect/loop"));
        server.createContext("/redirect/to", e -> redirect(e, query(e, "url")));
        server.setExecutor(executor);
        server.start();
    }

    /** The server on 127.0.0.1. */
    public static ImageServer get() {
        return on("127.0.0.1");
    }

    /** The server on another loopback address, e.g. 127.0.0.2 (Linux routes all of 127/8 to lo). */
    public static ImageServer on(String loopbackAddress) {
        return SERVERS.computeIfAbsent(loopbackAddress, a -> {
            try {
                InetAddress address = InetAddress.getByName(a);
                if (!address.isLoopbackAddress()) {
                    throw new IllegalArgumentException("tests serve on loopback only, not " + a);
                }
                return new ImageServer(address);
            } catch (IOException e) {
                throw new IllegalStateException("cannot start the test image server on " + a, e);
            }
        });
    }

    /** e.g. {@code http://127.0.0.1:41234} */
    public String baseUrl() {
        return "http://" + server.getAddress().getAddress().getHostAddress() + ":" + port();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** URL of a classpath resource, e.g. {@code image("tiny-reference/scene-00.png")}. */
    public String image(String resource) {
        return baseUrl() + "/images/" + resource;
    }

    public String slowImage(long millis, String resource) {
        return baseUrl() + "/slow/" + millis + "/" + resource;
    }

    public String status(int code) {
        return baseUrl() + "/status/" + code;
    }

    public String never() {
        return baseUrl() + "/never";
    }

    public String hugeDeclared(long bytes) {
        return baseUrl() + "/huge/declared/" + bytes;
    }

    public String hugeChunked() {
        return baseUrl() + "/huge/chunked";
    }

    public String redirectLoop() {
        return baseUrl() + "/redirect/loop";
    }

    public String redirectTo(String url) {
        return baseUrl() + "/redirect/to?url=" + java.net.URLEncoder.encode(url, StandardCharsets.UTF_8);
    }

    private void image(HttpExchange exchange) throws IOException {
        serve(exchange, exchange.getRequestURI().getPath().substring("/images/".length()));
    }

    private void slow(HttpExchange exchange) throws IOException {
        String rest = exchange.getRequestURI().getPath().substring("/slow/".length());
        int slash = rest.indexOf('/');
        pause(Long.parseLong(rest.substring(0, slash)));
        serve(exchange, rest.substring(slash + 1));
    }

    private void serve(HttpExchange exchange, String resource) throws IOException {
        try (InputStream in = ImageServer.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                send(exchange, 404, new byte[0]);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
            send(exchange, 200, in.readAllBytes());
        }
    }

    private void status(HttpExchange exchange) throws IOException {
        int code = Integer.parseInt(exchange.getRequestURI().getPath().substring("/status/".length()));
        send(exchange, code, new byte[0]);
    }

    private void never(HttpExchange exchange) {
        // holds the exchange until the client gives up and closes (or a minute passes)
        pause(TimeUnit.MINUTES.toMillis(1));
        exchange.close();
    }

    private void hugeDeclared(HttpExchange exchange) throws IOException {
        long bytes = Long.parseLong(exchange.getRequestURI().getPath().substring("/huge/declared/".length()));
        exchange.getResponseHeaders().set("Content-Type", "image/png");
        exchange.sendResponseHeaders(200, bytes);
        streamZeros(exchange, bytes);
    }

    private void hugeChunked(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "image/png");
        exchange.sendResponseHeaders(200, 0);
        streamZeros(exchange, ENDLESS_CAP);
    }

    /** Writes until done or until the client hangs up, which is what a refusing client does. */
    private static void streamZeros(HttpExchange exchange, long bytes) {
        byte[] chunk = new byte[64 * 1024];
        try (OutputStream out = exchange.getResponseBody()) {
            for (long sent = 0; sent < bytes; sent += chunk.length) {
                out.write(chunk, 0, (int) Math.min(chunk.length, bytes - sent));
            }
        } catch (IOException hungUp) {
            // expected
        } finally {
            exchange.close();
        }
    }

    private static void redirect(HttpExchange exchange, String location) throws IOException {
        exchange.getResponseHeaders().set("Location", location);
        send(exchange, 302, new byte[0]);
    }

    private static String query(HttpExchange exchange, String name) {
        String query = exchange.getRequestURI().getRawQuery();
        for (String pair : query == null ? new String[0] : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals(name)) {
                return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        throw new IllegalArgumentException("no " + name + " in " + query);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
        exchange.close();
    }
}

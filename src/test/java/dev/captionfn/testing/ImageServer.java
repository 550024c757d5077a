package dev.captionfn.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A real HTTP server on loopback that serves the test images from the classpath, plus the
 * misbehaving answers the error tests need. Started once per test JVM.
 *
 * <ul>
 *   <li>{@code /images/<path>}: the classpath resource {@code <path>}, with a Content-Type that
 *       deliberately says nothing true (the function must sniff the bytes)
 *   <li>{@code /status/<code>}: an empty answer with that status
 * </ul>
 */
public final class ImageServer {
    private static ImageServer instance;

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-image-server");
        t.setDaemon(true);
        return t;
    });

    private ImageServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/images/", this::image);
        server.createContext("/status/", this::status);
        server.setExecutor(executor);
        server.start();
    }

    public static synchronized ImageServer get() {
        if (instance == null) {
            try {
                instance = new ImageServer();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start the test image server", e);
            }
        }
        return instance;
    }

    /** e.g. {@code http://127.0.0.1:41234} */
    public String baseUrl() {
        return "http://" + server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort();
    }

    /** URL of a classpath resource, e.g. {@code image("tiny-reference/scene-00.png")}. */
    public String image(String resource) {
        return baseUrl() + "/images/" + resource;
    }

    public String status(int code) {
        return baseUrl() + "/status/" + code;
    }

    private void image(HttpExchange exchange) throws IOException {
        String resource = exchange.getRequestURI().getPath().substring("/images/".length());
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

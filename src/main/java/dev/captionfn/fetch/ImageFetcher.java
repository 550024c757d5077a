package dev.captionfn.fetch;

import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Fetches image bytes without blocking a thread and without trusting the URL: every hop (the
 * first URL and each redirect) is checked against {@link FetchUrl}'s rules, its host read as a
 * browser reads it ({@link UrlHost}), an address literal taken as written and a domain resolved by
 * its ASCII name, every address judged by the {@link AddressPolicy} ({@link Destinations}), and
 * the connection made to the address that was judged, so DNS cannot answer differently between
 * the check and the connect. A connect timeout, one deadline for the whole fetch, a redirect
 * limit, and a byte limit applied as the body streams in (a declared Content-Length past it is
 * refused before reading) bound what one URL can cost ({@link FetchLimits}). Every failure is a
 * {@link FetchException} whose {@link FetchError} says what happened.
 *
 * <p>Vert.x's core client is used rather than its web client because only the core client lets a
 * request name the socket address to connect to ({@link RequestOptions#setServer}) while the
 * Host header, SNI and certificate check keep the URL's parsed host (the punycode name for an
 * internationalised one, as certificates and SNI carry it; an IP address sends no SNI).
 */
@ApplicationScoped
public class ImageFetcher {
    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    private final Vertx vertx;
    private final FetchLimits limits;
    private final Destinations destinations;
    private final HttpClient client;

    public ImageFetcher(Vertx vertx, FetchLimits limits, HostResolver resolver) {
        this.vertx = vertx;
        this.limits = limits;
        this.destinations = new Destinations(limits.addressPolicy(), resolver);
        this.client = vertx.createHttpClient(new HttpClientOptions()
                .setConnectTimeout((int) limits.connectTimeout().toMillis())
                // redirects are followed here, hop by hop, so that each is checked
                .setMaxRedirects(0)
                // a compressed body could inflate past the byte limit unseen
                .setDecompressionSupported(false)
                .setForceSni(true)
                .setVerifyHost(true)
                .setKeepAlive(true));
    }

    /**
     * Fetches the URL, following redirects.
     *
     * @return the body, or a failure with a {@link FetchException}
     */
    public CompletionStage<byte[]> fetch(FetchUrl url) {
        return new Fetch(url).start();
    }

    /** Closes the HTTP client and its connections; fetches still in flight fail. */
    @PreDestroy
    public void close() {
        client.close();
    }

    /** One fetch: its deadline, the request in flight (to abort it) and the bytes so far. */
    private final class Fetch {
        private final FetchUrl original;
        private final Promise<byte[]> result = Promise.promise();
        private volatile HttpClientRequest current;
        private long timer;

        Fetch(FetchUrl original) {
            this.original = original;
        }

        CompletionStage<byte[]> start() {
            long deadline = limits.timeout().toMillis();
            timer = vertx.setTimer(deadline, id -> fail(new FetchException(FetchError.TIMEOUT,
                    "fetching " + original + " took longer than " + deadline + " ms")));
            hop(original, 0);
            return result.future().toCompletionStage();
        }

        private void hop(FetchUrl url, int redirects) {
            vertx.<InetAddress>executeBlocking(() -> destinations.addressOf(url), false)
                    .onSuccess(address -> connect(url, address, redirects))
                    .onFailure(e -> fail(e instanceof FetchException refused
                            ? redirects == 0 ? refused
                                    : new FetchException(refused.error(), original + " redirected to " + url + ": " + refused.getMessage())
                            : e instanceof UnknownHostException
                            ? new FetchException(FetchError.FAILED, "the host '" + url.hostName() + "' of " + url + " is unknown")
                            : new FetchException(FetchError.FAILED, "cannot resolve the host of " + url + ": " + e, e)));
        }

        private void connect(FetchUrl url, InetAddress address, int redirects) {
            if (result.future().isComplete()) {
                return;
            }
            RequestOptions options = new RequestOptions()
                    .setMethod(HttpMethod.GET)
                    .setServer(SocketAddress.inetSocketAddress(new InetSocketAddress(named(address, url), url.port())))
                    // the parsed host: punycode for an IDN (as SNI and certificates carry it), an address's canonical form
                    .setHost(url.host().serialized())
                    .setPort(url.port())
                    .setSsl(url.tls())
                    .setURI(url.target())
                    .setFollowRedirects(false)
                    .putHeader(HttpHeaders.USER_AGENT, limits.userAgent())
                    .putHeader(HttpHeaders.ACCEPT, "image/*");
            client.request(options)
                    .compose(request -> {
                        current = request;
                        if (result.future().isComplete()) {
                            // the deadline passed while connecting
                            request.reset();
                        }
                        return request.send();
                    })
                    .onSuccess(response -> answered(url, response, redirects))
                    .onFailure(e -> fail(connectFailure(url, e)));
        }

        /** The checked address labelled with the URL's host, so that nothing looks its name up in reverse DNS. */
        private static InetAddress named(InetAddress address, FetchUrl url) {
            try {
                return InetAddress.getByAddress(url.hostName(), address.getAddress());
            } catch (UnknownHostException e) {
                throw new IllegalStateException("an address of " + address.getAddress().length + " bytes", e);
            }
        }

        private void answered(FetchUrl url, HttpClientResponse response, int redirects) {
            int status = response.statusCode();
            // the verdict is the status: the reset below must not be reported as a failure of its own
            response.exceptionHandler(ignored -> { });
            if (REDIRECTS.contains(status)) {
                abort();
                redirect(url, response.getHeader(HttpHeaders.LOCATION), status, redirects);
            } else if (status < 200 || status >= 300) {
                abort();
                fail(statusFailure(url, status));
            } else {
                readBody(url, response);
            }
        }

        private void redirect(FetchUrl from, String location, int status, int redirects) {
            if (location == null || location.isBlank()) {
                fail(new FetchException(FetchError.FAILED, from + " answered HTTP " + status + " without a Location"));
                return;
            }
            if (redirects >= limits.maxRedirects()) {
                fail(new FetchException(FetchError.FAILED, original + " redirected more than "
                        + limits.maxRedirects() + " times (a redirect loop?)"));
                return;
            }
            FetchUrl next;
            try {
                next = FetchUrl.of(from.uri().resolve(new URI(location.strip())));
            } catch (URISyntaxException | IllegalArgumentException e) {
                fail(new FetchException(FetchError.FAILED, from + " redirected to an invalid URL: " + location));
                return;
            } catch (FetchException e) {
                // a Location whose host no browser would read is the image server's fault, not the request's
                FetchError error = e.error() == FetchError.INVALID_URL ? FetchError.FAILED : e.error();
                fail(new FetchException(error, from + " redirected to " + location + ": " + e.getMessage()));
                return;
            }
            hop(next, redirects + 1);
        }

        private void readBody(FetchUrl url, HttpClientResponse response) {
            long limit = limits.maxBytes();
            String declared = response.getHeader(HttpHeaders.CONTENT_LENGTH);
            long length = -1;
            try {
                length = declared == null ? -1 : Long.parseLong(declared.strip());
            } catch (NumberFormatException ignored) {
                // a bad header is the server's problem; the streamed count still applies
            }
            if (length > limit) {
                fail(tooLarge(url, " (it declares " + length + ")"));
                return;
            }
            Buffer body = Buffer.buffer(length > 0 ? (int) length : 64 * 1024);
            response.handler(chunk -> {
                if (body.length() + (long) chunk.length() > limit) {
                    // failing first: the reset that follows must not read as a broken body
                    fail(tooLarge(url, ""));
                } else if (!result.future().isComplete()) {
                    body.appendBuffer(chunk);
                }
            });
            response.exceptionHandler(e -> fail(new FetchException(FetchError.FAILED,
                    "reading the body of " + url + " failed: " + e.getMessage(), e)));
            response.endHandler(v -> {
                if (result.tryComplete(body.getBytes())) {
                    vertx.cancelTimer(timer);
                }
            });
        }

        private FetchException tooLarge(FetchUrl url, String declared) {
            return new FetchException(FetchError.TOO_LARGE,
                    url + " is larger than the limit of " + limits.maxBytes() + " bytes" + declared);
        }

        private void fail(Throwable failure) {
            if (result.tryFail(failure)) {
                vertx.cancelTimer(timer);
                abort();
            }
        }

        /** Closes the connection of the request in flight: an unread body must not be downloaded. */
        private void abort() {
            HttpClientRequest request = current;
            if (request != null) {
                request.reset();
            }
        }
    }

    private static FetchException statusFailure(FetchUrl url, int status) {
        if (status >= 500 || status == 429 || status == 408) {
            return new FetchException(FetchError.UPSTREAM_ERROR, url + " answered HTTP " + status);
        }
        return new FetchException(FetchError.FAILED, url + " answered HTTP " + status);
    }

    private static FetchException connectFailure(FetchUrl url, Throwable cause) {
        if (cause instanceof ConnectTimeoutException || cause instanceof java.util.concurrent.TimeoutException) {
            return new FetchException(FetchError.TIMEOUT, "connecting to " + url + " timed out", cause);
        }
        if (cause instanceof ConnectException) {
            return new FetchException(FetchError.FAILED, "cannot connect to " + url + ": " + cause.getMessage(), cause);
        }
        return new FetchException(FetchError.FAILED, "fetching " + url + " failed: " + cause.getMessage(), cause);
    }
}

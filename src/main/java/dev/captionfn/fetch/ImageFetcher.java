package dev.captionfn.fetch;

import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.ErrorCode;
import dev.captionfn.config.CaptionfnConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.codec.BodyCodec;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * Fetches image bytes with Vert.x's web client, without blocking a thread: a connect timeout, a
 * deadline for the whole fetch, redirects bounded, and a byte limit applied while the body streams
 * in, so a huge body never sits in memory.
 */
@ApplicationScoped
public class ImageFetcher {
    private final Vertx vertx;
    private final CaptionfnConfig.Fetch config;
    private final WebClient client;

    public ImageFetcher(Vertx vertx, CaptionfnConfig config) {
        this.vertx = vertx;
        this.config = config.fetch();
        this.client = WebClient.create(vertx, new WebClientOptions()
                .setConnectTimeout((int) this.config.connectTimeout().toMillis())
                .setFollowRedirects(true)
                .setMaxRedirects(this.config.maxRedirects())
                .setUserAgent(this.config.userAgent())
                // compressed bodies could inflate past the byte limit unseen
                .setTryUseCompression(false)
                .setKeepAlive(true));
    }

    public CompletionStage<byte[]> fetch(URI url) {
        Promise<byte[]> result = Promise.promise();
        long deadline = config.timeout().toMillis();
        long timer = vertx.setTimer(deadline, id -> result.tryFail(new CaptionException(ErrorCode.UPSTREAM_TIMEOUT,
                "fetching " + url + " took longer than " + deadline + " ms")));
        LimitedBuffer body = new LimitedBuffer(config.maxBytes());
        Future<HttpResponse<Void>> response = client.getAbs(url.toString())
                .timeout(deadline)
                .as(BodyCodec.pipe(body))
                .send();
        response.onComplete(ar -> {
            vertx.cancelTimer(timer);
            if (ar.succeeded()) {
                int status = ar.result().statusCode();
                if (status >= 200 && status < 300) {
                    result.tryComplete(body.bytes());
                } else {
                    result.tryFail(statusFailure(url, status));
                }
            } else {
                result.tryFail(failure(url, ar.cause(), body));
            }
        });
        return result.future().toCompletionStage();
    }

    private CaptionException statusFailure(URI url, int status) {
        if (status >= 500) {
            return new CaptionException(ErrorCode.UPSTREAM_ERROR, url + " answered HTTP " + status);
        }
        if (status >= 300 && status < 400) {
            return new CaptionException(ErrorCode.FETCH_FAILED,
                    url + " redirected more than " + config.maxRedirects() + " times (HTTP " + status + ")");
        }
        return new CaptionException(ErrorCode.FETCH_FAILED, url + " answered HTTP " + status);
    }

    private CaptionException failure(URI url, Throwable cause, LimitedBuffer body) {
        if (body.overflowed() || cause instanceof LimitedBuffer.TooLargeException) {
            return new CaptionException(ErrorCode.TOO_LARGE, url + " sent more than " + config.maxBytes() + " bytes");
        }
        if (cause instanceof TimeoutException || cause instanceof io.netty.channel.ConnectTimeoutException) {
            return new CaptionException(ErrorCode.UPSTREAM_TIMEOUT, "fetching " + url + " timed out", cause);
        }
        if (cause instanceof UnknownHostException) {
            return new CaptionException(ErrorCode.FETCH_FAILED, "the host of " + url + " is unknown", cause);
        }
        if (cause instanceof ConnectException) {
            return new CaptionException(ErrorCode.FETCH_FAILED, "cannot connect to " + url + ": " + cause.getMessage(), cause);
        }
        return new CaptionException(ErrorCode.FETCH_FAILED, "fetching " + url + " failed: " + cause, cause);
    }

    @PreDestroy
    void close() {
        client.close();
    }

    /** A write stream that keeps at most {@code limit} bytes and fails the write past it. */
    static final class LimitedBuffer implements io.vertx.core.streams.WriteStream<Buffer> {
        static final class TooLargeException extends RuntimeException {
            TooLargeException() {
                super("body larger than the limit", null, false, false);
            }
        }

        private final long limit;
        private final Buffer buffer = Buffer.buffer();
        private boolean overflowed;

        LimitedBuffer(long limit) {
            this.limit = limit;
        }

        byte[] bytes() {
            return buffer.getBytes();
        }

        boolean overflowed() {
            return overflowed;
        }

        @Override
        public Future<Void> write(Buffer data) {
            if (overflowed || buffer.length() + (long) data.length() > limit) {
                overflowed = true;
                return Future.failedFuture(new TooLargeException());
            }
            buffer.appendBuffer(data);
            return Future.succeededFuture();
        }

        @Override
        public void write(Buffer data, io.vertx.core.Handler<io.vertx.core.AsyncResult<Void>> handler) {
            write(data).onComplete(handler);
        }

        @Override
        public Future<Void> end() {
            return overflowed ? Future.failedFuture(new TooLargeException()) : Future.succeededFuture();
        }

        @Override
        public void end(io.vertx.core.Handler<io.vertx.core.AsyncResult<Void>> handler) {
            end().onComplete(handler);
        }

        @Override
        public LimitedBuffer exceptionHandler(io.vertx.core.Handler<Throwable> handler) {
            return this;
        }

        @Override
        public LimitedBuffer setWriteQueueMaxSize(int maxSize) {
            return this;
        }

        @Override
        public boolean writeQueueFull() {
            return false;
        }

        @Override
        public LimitedBuffer drainHandler(io.vertx.core.Handler<Void> handler) {
            return this;
        }
    }
}

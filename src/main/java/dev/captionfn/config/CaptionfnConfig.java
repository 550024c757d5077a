package dev.captionfn.config;

import dev.captionfn.modeldir.Graph;
import dev.captionfn.ort.CudnnConvAlgoSearch;
import dev.captionfn.ort.ExecutionProvider;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithParentName;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** All of captionfn's configuration; the README's table lists each key with its default. */
@ConfigMapping(prefix = "captionfn")
public interface CaptionfnConfig {
    Model model();

    /**
     * ONNX Runtime execution providers in order of preference (tensorrt, cuda, cpu), for every
     * graph or for one: each graph runs on the first of its list that loads, the ones after it
     * taking the operators it cannot run. A provider that cannot load is named in one warning at
     * startup, with the library it misses. TensorRT and CUDA need the gpu build (onnxruntime_gpu)
     * and deploy/docker/Dockerfile.gpu.
     */
    ExecutionProviders executionProviders();

    Cache cache();

    Cuda cuda();

    Tensorrt tensorrt();

    Limits limits();

    Batch batch();

    Fetch fetch();

    Events events();

    Kafka kafka();

    Lambda lambda();

    interface Model {
        /** The model directory (env CAPTIONFN_MODEL_DIR); unset means the embedded default model. */
        Optional<Path> dir();

        /** Threads inside one ONNX Runtime operator; 0 lets ONNX Runtime use one per core. */
        @WithDefault("0")
        int intraOpThreads();

        /** Threads across independent operators; 0 lets ONNX Runtime choose. */
        @WithDefault("0")
        int interOpThreads();

        /** Where the embedded default model is unpacked; unset means a temporary directory. */
        Optional<Path> extractDir();

        /**
         * Runs a decoder of contract 2 (model.json format 2) through ONNX Runtime's I/O binding,
         * which keeps the KV cache in the execution provider's memory; false runs it through the
         * Java API, every tensor on the host, as before. Contract 1 decoders always run that way.
         */
        @WithDefault("true")
        boolean ioBinding();
    }

    /**
     * {@code captionfn.execution-providers} for every graph, {@code captionfn.execution-providers.vision}
     * (and {@code .embed}, {@code .decoder}) for one. Per graph because the graphs differ: the vision
     * graph's shapes are fixed, which TensorRT does well, while the decoder's past grows at every
     * step, which the CUDA provider runs without building an engine (for a 7B decoder that build
     * costs minutes and host memory).
     */
    interface ExecutionProviders {
        /** The list of every graph that has none of its own. */
        @WithParentName
        @WithDefault("cpu")
        List<ExecutionProvider> all();

        /**
         * A graph's own list, keyed by vision, embed or decoder (env CAPTIONFN_EXECUTION_PROVIDERS_VISION
         * and so on); any other name stops startup with the names allowed. SmallRye converts the keys
         * to {@link Graph} itself, which is where that message comes from.
         */
        @WithParentName
        Map<Graph, List<ExecutionProvider>> graphs();
    }

    /**
     * The warm-start caches: TensorRT engines and timing caches, and the graphs ONNX Runtime
     * optimised for this CPU, one directory per model id, each keyed by the model's sha256, ONNX
     * Runtime's and TensorRT's versions, the GPU or CPU and the profile shapes. A cache that does
     * not match is ignored with a warning and rebuilt. Fill it ahead with {@code prepare}.
     */
    interface Cache {
        /** A writable directory (env CAPTIONFN_CACHE_DIR); unset means no caches: every start builds. */
        Optional<Path> dir();
    }

    /** The CUDA provider (TensorRT runs on the same device). */
    interface Cuda {
        @WithDefault("0")
        int deviceId();

        /** The CUDA provider's memory arena limit (e.g. 70G); unset means no limit. */
        Optional<MemorySize> memoryLimit();

        /** How cuDNN's convolution algorithms are chosen: exhaustive (ONNX Runtime's default), heuristic or default. */
        @WithDefault("exhaustive")
        CudnnConvAlgoSearch cudnnConvAlgoSearch();
    }

    /** The TensorRT provider. */
    interface Tensorrt {
        /** Half-precision layers: faster, and no longer the reference's float32 arithmetic. */
        @WithDefault("false")
        boolean fp16();

        /** With fp16, keep LayerNorm in float32: its variance overflows in half precision and the captions go wrong. */
        @WithDefault("true")
        boolean layerNormFp32Fallback();

        /** The engine builder's scratch memory (e.g. 4G); unset leaves ONNX Runtime's default. */
        Optional<MemorySize> maxWorkspaceSize();

        /** 0–5: higher levels build longer and may run faster (TensorRT's default is 3). */
        @WithDefault("3")
        int builderOptimizationLevel();
    }

    /** Server-side caps on what a request may ask for. */
    interface Limits {
        @WithDefault("5")
        int maxBeams();

        @WithDefault("64")
        int maxNewTokens();

        /** Characters of a request's prompt. */
        @WithDefault("1000")
        int maxPromptChars();

        /** Pixels an image header may declare (width × height); decompression bombs stop here. */
        @WithDefault("40000000")
        long maxPixels();

        /**
         * Places in the queue in front of the model: requests this instance holds at once, from
         * admission (before the fetch) to the answer. Past it an HTTP request or CloudEvent is
         * answered OVERLOADED (429) so that the broker retries it elsewhere or later; the Kafka
         * consumer waits for a place and stops fetching meanwhile.
         */
        @WithDefault("32")
        int maxInFlight();

        /**
         * How long a request may take from admission to its answer. Past it the request is
         * answered DEADLINE_EXCEEDED (504) and leaves the queue or its batch, freeing its place.
         * Keep it below the platform's own timeout (Knative's timeoutSeconds, Lambda's timeout).
         */
        @WithDefault("240s")
        Duration deadline();
    }

    /** Micro-batching: requests that arrive together share one vision run and the decoder's steps. */
    interface Batch {
        /**
         * Decoder rows in one batch: a beam request takes its beams (5 by default), a greedy one
         * takes 1. 1 turns batching off.
         */
        @WithDefault("40")
        int maxRows();

        /**
         * How long the first request of a batch waits for others that are already admitted and
         * being fetched. A request with none on their way never waits.
         */
        @WithDefault("5ms")
        Duration maxWait();
    }

    interface Fetch {
        @WithDefault("5s")
        Duration connectTimeout();

        /** The whole fetch, from connecting to the last byte. */
        @WithDefault("20s")
        Duration timeout();

        @WithDefault("20971520")
        long maxBytes();

        @WithDefault("5")
        int maxRedirects();

        @WithDefault("captionfn/0.1")
        String userAgent();

        /**
         * Fetch from loopback, private, link-local, CGNAT, unique-local and other special-use
         * addresses too. Off: an event's URL must not reach the cloud's metadata service or the
         * cluster's own services.
         */
        @WithDefault("false")
        boolean allowPrivateAddresses();

        /** Networks (CIDR, e.g. 10.20.0.0/16) allowed even though they are private: an internal image store. */
        Optional<List<String>> allowedNetworks();
    }

    /** CloudEvents attributes. */
    interface Events {
        @WithDefault("dev.captionfn.caption.request")
        String requestType();

        @WithDefault("dev.captionfn.caption.result")
        String resultType();

        /** The type of the event that answers a permanent failure (HTTP 200, so the broker does not retry it). */
        @WithDefault("dev.captionfn.caption.error")
        String errorType();

        @WithDefault("/captionfn")
        String source();
    }

    /**
     * The Kafka stream processor (dev.captionfn.kafka). The SmallRye channels in
     * application.properties take their topics, group and concurrency from here, which is why the
     * defaults of those keys live in application.properties: property expressions do not see a
     * mapping's own defaults. The broker's address is Quarkus's {@code kafka.bootstrap.servers}.
     */
    interface Kafka {
        /** Consume requests from Kafka; off, the function serves HTTP only. */
        boolean enabled();
        String requestTopic();
        String resultTopic();

        /** Where failed requests go, with the reason in headers. */
        @WithDefault("caption-requests-dlq")
        String deadLetterTopic();
        String groupId();

        /**
         * Records captioned at once by one instance: records of one key always one after the
         * other, records of different keys side by side.
         */
        int concurrency();

        /** Records fetched per poll; with the concurrency, bounds what waits in memory. */
        int maxPollRecords();

        Retry retry();

        /**
         * Transient failures (timeouts, 5xx from the image server, the deadline, a model failure)
         * are retried, then dead-lettered. Overload is not one: a record waits for a place.
         */
        interface Retry {
            /** Attempts after the first one. */
            @WithDefault("3")
            int maxRetries();

            @WithDefault("1s")
            Duration initialBackoff();

            @WithDefault("30s")
            Duration maxBackoff();
        }
    }

    /**
     * The Lambda build's SQS-fed function ({@code caption-sqs}): an SQS event source drops what a
     * function returns, so it publishes each caption, and each permanent failure, to this queue
     * itself, as a CloudEvent (deploy/lambda/README.md).
     */
    interface Lambda {
        /**
         * The URL of the standard SQS queue the captions go to
         * (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME). Required where {@code caption-sqs} is the
         * exported function: without it the function does not start.
         */
        Optional<String> resultQueueUrl();

        /**
         * The SQS endpoint to call instead of the region's own (an ElasticMQ or LocalStack address in
         * tests). The SDK sends every call to the endpoint, whatever host the queue URL names.
         */
        Optional<URI> sqsEndpoint();
    }
}

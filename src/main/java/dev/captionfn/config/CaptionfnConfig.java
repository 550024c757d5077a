package dev.captionfn.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** All of captionfn's configuration; the README's table lists each key with its default. */
@ConfigMapping(prefix = "captionfn")
public interface CaptionfnConfig {
    Model model();

    Limits limits();

    Fetch fetch();

    Events events();

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
    }

    /** CloudEvents attributes. */
    interface Events {
        @WithDefault("dev.captionfn.caption.request")
        String requestType();

        @WithDefault("dev.captionfn.caption.result")
        String resultType();

        @WithDefault("/captionfn")
        String source();
    }
}

package dev.captionfn.text;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * One loaded {@code tokenizer.json}: DJL's native HuggingFace tokenizer plus the token-to-id
 * table, which DJL does not expose.
 *
 * <p>Concurrency: DJL changes its tokenizer's settings (truncation, padding) only while
 * constructing it; afterwards each encode/decode is a JNI call that only uses the Rust
 * {@code Tokenizer}'s {@code &self} methods, and that type is {@code Sync} (its BPE cache sits behind
 * a lock), so encodes may run in parallel. What is not safe is {@code close()}: it frees the native
 * tokenizer with no guard against calls still in flight, and any later call dereferences freed
 * memory and can crash the JVM. A read-write lock closes that gap: calls share the read lock, close
 * takes the write lock, and calls after it fail with an exception.
 */
final class TokenizerJson implements AutoCloseable {

    private static final JsonFactory JSON = new JsonFactory();
    private static final String DJL_OFFLINE = "ai.djl.offline";
    private static final String DJL_OPT_OUT_TRACKING = "OPT_OUT_TRACKING";

    private final Path file;
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Long> ids;
    private final int vocabSize;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private TokenizerJson(Path file, HuggingFaceTokenizer tokenizer, Map<String, Long> ids) {
        this.file = file;
        this.tokenizer = tokenizer;
        this.ids = ids;
        this.vocabSize = Math.toIntExact(ids.values().stream().mapToLong(Long::longValue).max().orElse(-1) + 1);
    }

    static {
        // DJL "calls home" when a tokenizer is first created: the EC2 metadata address, then a
        // telemetry URL, with second-long timeouts on the startup path. A function that fetches
        // only what its requests name should not; an operator can still set these explicitly.
        if (System.getProperty(DJL_OFFLINE) == null && System.getenv("DJL_OFFLINE") == null) {
            System.setProperty(DJL_OFFLINE, "true");
        }
        if (System.getProperty(DJL_OPT_OUT_TRACKING) == null && System.getenv(DJL_OPT_OUT_TRACKING) == null) {
            System.setProperty(DJL_OPT_OUT_TRACKING, "true");
        }
    }

    static TokenizerJson load(Path file) {
        if (!Files.exists(file)) {
            throw new TokenizerLoadException(file, "no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new TokenizerLoadException(file, "not a regular file");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TokenizerLoadException(file, "cannot read it (" + e + ")", e);
        }
        Map<String, Long> ids = readIds(file, bytes);
        try {
            return new TokenizerJson(file, HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(bytes), explicitOptions()), ids);
        } catch (EngineException | LinkageError e) {
            // DJL extracts its native library under DJL_CACHE_DIR (default ~/.djl.ai) and fails
            // with EngineException when it cannot; a library that will not link (a musl libc
            // image, say) surfaces as an Error instead.
            throw new TokenizerLoadException(file, "the native tokenizers library cannot load (" + causes(e) + ")", e);
        } catch (IOException | RuntimeException e) {
            // The native side reports parse errors as plain RuntimeExceptions.
            throw new TokenizerLoadException(file, "the tokenizers library rejects it (" + causes(e) + ")", e);
        }
    }

    private static String causes(Throwable e) {
        StringBuilder text = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable cause = e.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            text.append(": ").append(cause.getMessage());
        }
        return text.toString();
    }

    /**
     * DJL's defaults are not HuggingFace's: unless told otherwise it truncates to 512 tokens
     * (LONGEST_FIRST), pads batches, adds special tokens, and keeps whatever truncation and
     * padding the file itself carries. Every one of those is switched off here; the callers add
     * special tokens per call and do their own truncation and padding.
     */
    private static Map<String, String> explicitOptions() {
        return Map.of(
                "addSpecialTokens", "false",
                "withOverflowingTokens", "false",
                "truncation", "false",
                "padding", "false");
    }

    /**
     * Token-to-id table: the model's vocabulary, then the added tokens, which win as they do in
     * HF. Read with the streaming parser, skipping the merges and everything else: on a cold JVM
     * that is several times faster than building a tree of a 2 MB file.
     */
    private static Map<String, Long> readIds(Path file, byte[] bytes) {
        Map<String, Long> vocab = null;
        Map<String, Long> added = Map.of();
        try (JsonParser parser = JSON.createParser(bytes)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerLoadException(file, "not a tokenizer.json: not a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                switch (field) {
                    case "model" -> vocab = readModelVocab(parser);
                    case "added_tokens" -> added = readAddedTokens(parser);
                    default -> parser.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new TokenizerLoadException(file, "not valid JSON (" + e.getMessage() + ")", e);
        }
        if (vocab == null) {
            throw new TokenizerLoadException(file, "not a tokenizer.json: it has no model vocabulary");
        }
        Map<String, Long> ids = new HashMap<>(vocab);
        ids.putAll(added);
        return Map.copyOf(ids);
    }

    /** The model's vocab, or null if it has none. */
    private static Map<String, Long> readModelVocab(JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            parser.skipChildren();
            return null;
        }
        Map<String, Long> vocab = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            if ("vocab".equals(field) && value == JsonToken.START_OBJECT) {
                vocab = readTokenIdObject(parser);
            } else if ("vocab".equals(field) && value == JsonToken.START_ARRAY) {
                vocab = readUnigramPieces(parser);
            } else {
                parser.skipChildren();
            }
        }
        return vocab;
    }

    /** WordPiece, BPE, WordLevel: {@code {"token": id, ...}}. */
    private static Map<String, Long> readTokenIdObject(JsonParser parser) throws IOException {
        Map<String, Long> vocab = new HashMap<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String token = parser.currentName();
            parser.nextToken();
            vocab.put(token, parser.getLongValue());
        }
        return vocab;
    }

    /** Unigram: {@code [["piece", score], ...]}, where the id is the position. */
    private static Map<String, Long> readUnigramPieces(JsonParser parser) throws IOException {
        Map<String, Long> vocab = new HashMap<>();
        long id = 0;
        while (parser.nextToken() == JsonToken.START_ARRAY) {
            parser.nextToken();
            vocab.put(parser.getText(), id++);
            while (parser.nextToken() != JsonToken.END_ARRAY) {
                parser.skipChildren();
            }
        }
        return vocab;
    }

    /** {@code [{"id": 0, "content": "[PAD]", ...}, ...]}. */
    private static Map<String, Long> readAddedTokens(JsonParser parser) throws IOException {
        Map<String, Long> added = new HashMap<>();
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            parser.skipChildren();
            return added;
        }
        while (parser.nextToken() == JsonToken.START_OBJECT) {
            String content = null;
            long id = -1;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                switch (field) {
                    case "content" -> content = parser.getText();
                    case "id" -> id = parser.getLongValue();
                    default -> parser.skipChildren();
                }
            }
            if (content != null && id >= 0) {
                added.put(content, id);
            }
        }
        return added;
    }

    Path file() {
        return file;
    }

    /** Highest id the tokenizer knows plus one: its vocabulary and its added tokens. */
    int vocabSize() {
        return vocabSize;
    }

    OptionalLong tokenId(String token) {
        Long id = ids.get(token);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    Encoding encode(String text, boolean addSpecialTokens) {
        return guarded(() -> tokenizer.encode(text, addSpecialTokens, false));
    }

    String decode(long[] tokenIds, boolean skipSpecialTokens) {
        return guarded(() -> tokenizer.decode(tokenIds, skipSpecialTokens));
    }

    private <T> T guarded(Supplier<T> call) {
        Lock read = lock.readLock();
        read.lock();
        try {
            if (closed) {
                throw new IllegalStateException("Tokenizer " + file + " is closed");
            }
            return call.get();
        } finally {
            read.unlock();
        }
    }

    @Override
    public void close() {
        Lock write = lock.writeLock();
        write.lock();
        try {
            if (!closed) {
                closed = true;
                tokenizer.close();
            }
        } finally {
            write.unlock();
        }
    }
}

package dev.captionfn.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test tokenizer files and the reference ids written by src/test/python/make_tokenizer_fixtures.py.
 */
final class TokenizerFixtures {

    static final Path BERT_TOKENIZER = resource("tokenizers/bert-base-uncased/tokenizer.json");
    static final Path LLAMA_TOKENIZER = resource("tokenizers/llama/phi3-tokenizer.json");

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFixtures() {
    }

    /** LAVIS's {@code max_txt_len} for InstructBLIP's Q-Former (a served model's is model.json's {@code qformer.max_length}). */
    static final int LAVIS_MAX_LENGTH = 128;

    /** LLaMA's {@code </s>}, which LAVIS's InstructBLIP-Vicuna uses as BOS, EOS and (after mapping 0) pad. */
    static final long LLAMA_EOS_ID = 2;

    /** LLaMA's {@code <unk>}: LAVIS maps generated 0s to EOS before decoding, so they vanish. */
    static final long LLAMA_UNK_ID = 0;

    /** InstructBLIP's Q-Former as LAVIS runs it: bert-base-uncased, at most 128 tokens, padded with [PAD]. */
    static QFormerTokenizerSpec lavisQFormer() {
        return new QFormerTokenizerSpec(LAVIS_MAX_LENGTH, QFormerTokenizerSpec.BERT_PAD_TOKEN);
    }

    /** InstructBLIP-Vicuna as LAVIS runs it: BOS = EOS = {@code </s>} (2), and 0 decodes to nothing. */
    static LlmTokenizerSpec lavisVicuna() {
        return new LlmTokenizerSpec(true, LLAMA_EOS_ID, LLAMA_EOS_ID, LLAMA_UNK_ID);
    }

    /** One BERT reference case: the text, its bare WordPiece ids, and LAVIS's Q-Former input ids. */
    record BertCase(String name, String text, long[] wordpieceIds, long[] inputIds) {
        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * An input on which the tokenizers library knowingly departs from the reference: the ids of
     * each, and why (see BERT_KNOWN_DIFFERENCES in the fixture script).
     */
    record BertKnownDifference(String name, String text, String why, long[] referenceInputIds,
            long[] libraryInputIds) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** One SentencePiece reference case: the text, {@code sp.encode(text)}, {@code sp.decode(ids)}. */
    record LlamaCase(String name, String text, long[] ids, String decoded) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Ids as LAVIS may meet them around a caption, and {@code sp.decode(ids).strip()}. */
    record LlamaDecodeCase(String name, long[] ids, String decodedStripped) {
        @Override
        public String toString() {
            return name;
        }
    }

    static int bertMaxLength() {
        return read("fixtures/tokenizers/bert-base-uncased.json").path("max_length").asInt();
    }

    static List<BertCase> bertCases() {
        List<BertCase> cases = new ArrayList<>();
        for (JsonNode c : read("fixtures/tokenizers/bert-base-uncased.json").path("cases")) {
            cases.add(new BertCase(c.path("name").asText(), c.path("text").asText(),
                    longs(c.path("wordpiece_ids")), longs(c.path("input_ids"))));
        }
        return cases;
    }

    static List<BertKnownDifference> bertKnownDifferences() {
        List<BertKnownDifference> cases = new ArrayList<>();
        for (JsonNode c : read("fixtures/tokenizers/bert-base-uncased.json").path("known_differences")) {
            cases.add(new BertKnownDifference(c.path("name").asText(), c.path("text").asText(),
                    c.path("why").asText(), longs(c.path("reference_input_ids")),
                    longs(c.path("library_input_ids"))));
        }
        return cases;
    }

    static List<LlamaCase> llamaCases() {
        List<LlamaCase> cases = new ArrayList<>();
        for (JsonNode c : read("fixtures/tokenizers/llama.json").path("cases")) {
            cases.add(new LlamaCase(c.path("name").asText(), c.path("text").asText(), longs(c.path("ids")),
                    c.path("decoded").asText()));
        }
        return cases;
    }

    static List<LlamaDecodeCase> llamaDecodeCases() {
        List<LlamaDecodeCase> cases = new ArrayList<>();
        for (JsonNode c : read("fixtures/tokenizers/llama.json").path("decode_cases")) {
            cases.add(new LlamaDecodeCase(c.path("name").asText(), longs(c.path("ids")),
                    c.path("decoded_stripped").asText()));
        }
        return cases;
    }

    /** Code points for which Python's {@code str.isspace()} is true. */
    static long[] pythonWhitespace() {
        return longs(read("fixtures/tokenizers/python-whitespace.json").path("code_points"));
    }

    static JsonNode read(String resource) {
        try (InputStream in = TokenizerFixtures.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("Missing test resource " + resource);
            }
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectMapper json() {
        return JSON;
    }

    private static long[] longs(JsonNode array) {
        long[] values = new long[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asLong();
        }
        return values;
    }

    private static Path resource(String name) {
        URL url = TokenizerFixtures.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IllegalStateException("Missing test resource " + name);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}

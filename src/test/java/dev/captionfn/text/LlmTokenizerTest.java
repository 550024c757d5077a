package dev.captionfn.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlmTokenizerTest {

    private static final String PROMPT = "Write a short description for the image.";

    private static LlmTokenizer lavis;

    @BeforeAll
    static void load() {
        lavis = LlmTokenizer.load(TokenizerFixtures.LLAMA_TOKENIZER, TokenizerFixtures.lavisVicuna());
    }

    @AfterAll
    static void close() {
        lavis.close();
    }

    @Test
    void lavisVicunaPromptStartsWithEosAsBosAndHasNoLlamaBos() {
        long llamaBos = lavis.tokenId("<s>").orElseThrow();
        long eos = lavis.tokenId("</s>").orElseThrow();

        long[] ids = lavis.encodePrompt(PROMPT);

        assertEquals(2, eos);
        assertEquals(eos, ids[0]);
        assertTrue(Arrays.stream(ids).noneMatch(id -> id == llamaBos), Arrays.toString(ids));
        assertEquals(lavis.tokenId("▁Write").orElseThrow(), ids[1]);
    }

    @Test
    void withoutBosThePromptIsJustItsTokens() {
        try (LlmTokenizer noBos = LlmTokenizer.load(TokenizerFixtures.LLAMA_TOKENIZER,
                new LlmTokenizerSpec(false, 1, 2, 0))) {
            long[] ids = noBos.encodePrompt(PROMPT);

            assertArrayEquals(Arrays.copyOfRange(lavis.encodePrompt(PROMPT), 1, ids.length + 1), ids);
        }
    }

    @Test
    void anEmptyPromptIsTheBosAlone() {
        assertArrayEquals(new long[] {2}, lavis.encodePrompt(""));
    }

    @Test
    void decodeSkipsBosEosPadAndTheTokenizersSpecialTokensThenStrips() {
        long[] caption = lavis.encodePrompt(" a cat on a couch ");
        long[] generated = new long[caption.length + 4];
        System.arraycopy(caption, 0, generated, 0, caption.length);
        generated[caption.length] = 2;
        generated[caption.length + 1] = 0;
        generated[caption.length + 2] = lavis.tokenId("<s>").orElseThrow();
        generated[caption.length + 3] = lavis.tokenId("<|endoftext|>").orElseThrow();

        assertEquals("a cat on a couch", lavis.decode(generated));
    }

    @Test
    void decodeRefusesAnIdOutsideTheVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> lavis.decode(new long[] {263, lavis.vocabSize()}));
        assertThrows(IllegalArgumentException.class, () -> lavis.decode(new long[] {-5}));
    }

    @Test
    void vocabularyCountsAddedTokensAndLooksUpPieces() {
        assertEquals(32011, lavis.vocabSize(), "LLaMA's 32000 plus Phi-3's 11 added tokens");
        assertEquals(OptionalLong.of(13), lavis.tokenId("<0x0A>"));
        assertEquals(OptionalLong.of(278), lavis.tokenId("▁the"));
        assertFalse(lavis.tokenId("no such piece").isPresent());
    }

    @Test
    void aSpecialTokenStringInsideThePromptBecomesThatToken() {
        // HF tokenizers match added tokens in the raw text before normalizing it (LAVIS's
        // LlamaTokenizer does the same for its special tokens); SentencePiece alone would spell
        // "</s>" out as pieces.
        long[] ids = lavis.encodePrompt("a cat</s>");

        assertEquals(2, ids[ids.length - 1]);
        assertEquals(2, Arrays.stream(ids).filter(id -> id == 2).count(), Arrays.toString(ids));
    }

    @Test
    void readsTheVocabularyOfAUnigramTokenizerJson(@TempDir Path dir) throws IOException {
        Path unigram = Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [{"id": 3, "content": "</s>", "single_word": false, "lstrip": false,
                                   "rstrip": false, "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
                 "model": {"type": "Unigram", "unk_id": 0,
                           "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -2.0], ["</s>", 0.0]]}}
                """);

        try (LlmTokenizer tokenizer = LlmTokenizer.load(unigram, new LlmTokenizerSpec(false, 3, 3, 0))) {
            assertEquals(OptionalLong.of(2), tokenizer.tokenId("b"));
            assertEquals(4, tokenizer.vocabSize());
            assertArrayEquals(new long[] {1, 2}, tokenizer.encodePrompt("ab"));
        }
    }

    @Test
    void aBosOutsideTheVocabularyIsALoadError() {
        TokenizerLoadException e = assertThrows(TokenizerLoadException.class,
                () -> LlmTokenizer.load(TokenizerFixtures.LLAMA_TOKENIZER, new LlmTokenizerSpec(true, 50000, 2, 0)));

        assertTrue(e.getMessage().contains("BOS id 50000"), e.getMessage());
    }

    @Test
    void aMissingFileNamesThePath(@TempDir Path dir) {
        Path missing = dir.resolve("missing").resolve("tokenizer.json");

        TokenizerLoadException e = assertThrows(TokenizerLoadException.class,
                () -> LlmTokenizer.load(missing, TokenizerFixtures.lavisVicuna()));

        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }
}

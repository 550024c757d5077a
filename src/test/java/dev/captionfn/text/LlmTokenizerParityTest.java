package dev.captionfn.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.captionfn.text.TokenizerFixtures.LlamaCase;
import dev.captionfn.text.TokenizerFixtures.LlamaDecodeCase;

import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The phi3 tokenizer.json (ids 0–31999 equal LLaMA's) through DJL gives SentencePiece's ids for the
 * LLaMA tokenizer.model, and decodes them to SentencePiece's text.
 */
class LlmTokenizerParityTest {

    private static LlmTokenizer withoutBos;
    private static LlmTokenizer lavis;

    @BeforeAll
    static void load() {
        withoutBos = LlmTokenizer.load(TokenizerFixtures.LLAMA_TOKENIZER,
                new LlmTokenizerSpec(false, TokenizerFixtures.LLAMA_EOS_ID, TokenizerFixtures.LLAMA_EOS_ID,
                        TokenizerFixtures.LLAMA_UNK_ID));
        lavis = LlmTokenizer.load(TokenizerFixtures.LLAMA_TOKENIZER, TokenizerFixtures.lavisVicuna());
    }

    @AfterAll
    static void close() {
        withoutBos.close();
        lavis.close();
    }

    static List<LlamaCase> cases() {
        return TokenizerFixtures.llamaCases();
    }

    static List<LlamaDecodeCase> decodeCases() {
        return TokenizerFixtures.llamaDecodeCases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void promptIdsEqualSentencePieceIds(LlamaCase reference) {
        assertArrayEquals(reference.ids(), withoutBos.encodePrompt(reference.text()), reference.text());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodeEqualsSentencePieceDecodeStripped(LlamaCase reference) {
        assertEquals(PythonText.strip(reference.decoded()), lavis.decode(reference.ids()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("decodeCases")
    void decodeAroundBosAndEosEqualsSentencePieceDecodeStripped(LlamaDecodeCase reference) {
        assertEquals(reference.decodedStripped(), lavis.decode(reference.ids()));
    }
}

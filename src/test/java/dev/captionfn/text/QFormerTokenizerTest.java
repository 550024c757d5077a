package dev.captionfn.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QFormerTokenizerTest {

    private static final String PROMPT = "Write a short description for the image.";

    private static QFormerTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER, TokenizerFixtures.lavisQFormer());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static long id(String token) {
        return tokenizer.tokenId(token).orElseThrow();
    }

    @Test
    void wrapsEachTextInClsAndSepLookedUpFromTheTokenizer() {
        long[] ids = tokenizer.encode(List.of(PROMPT)).idsOf(0);

        assertEquals(id("[CLS]"), ids[0]);
        assertEquals(id("[SEP]"), ids[ids.length - 1]);
        assertEquals(id("write"), ids[1]);
    }

    @Test
    void oneTextEncodedAloneIsItsRowOfABatchWithoutThePadding() {
        String longInstruction = "describe everything you see in this picture in detail ".repeat(20);
        for (String text : List.of(PROMPT, "a photo of", longInstruction)) {
            TokenizedBatch batch = tokenizer.encode(List.of("a", text, longInstruction));
            long[] alone = tokenizer.encodeOne(text);
            assertEquals(batch.tokenCount(1), alone.length, text);
            assertArrayEquals(Arrays.copyOf(batch.idsOf(1), alone.length), alone, text);
        }
    }

    @Test
    void batchOfTwoPadsTheShorterRowOnTheRightWithThePadIdAndMasksIt() {
        TokenizedBatch batch = tokenizer.encode(List.of("a photo of", PROMPT));
        long[] shortRow = tokenizer.encode(List.of("a photo of")).idsOf(0);
        long[] longRow = tokenizer.encode(List.of(PROMPT)).idsOf(0);

        assertEquals(2, batch.batchSize());
        assertEquals(longRow.length, batch.length());
        assertArrayEquals(new long[] {2, longRow.length}, batch.shape());
        assertEquals(id("[PAD]"), tokenizer.padId());

        long[] padded = Arrays.copyOf(shortRow, longRow.length);
        Arrays.fill(padded, shortRow.length, longRow.length, tokenizer.padId());
        assertArrayEquals(padded, batch.idsOf(0));
        assertArrayEquals(longRow, batch.idsOf(1));

        long[] shortMask = new long[longRow.length];
        Arrays.fill(shortMask, 0, shortRow.length, 1L);
        long[] longMask = new long[longRow.length];
        Arrays.fill(longMask, 1L);
        assertArrayEquals(shortMask, batch.maskOf(0));
        assertArrayEquals(longMask, batch.maskOf(1));
        assertEquals(shortRow.length, batch.tokenCount(0));
    }

    @Test
    void flatArraysAreRowMajor() {
        TokenizedBatch batch = tokenizer.encode(List.of("a photo of", PROMPT));

        long[] rowsJoined = new long[batch.ids().length];
        System.arraycopy(batch.idsOf(0), 0, rowsJoined, 0, batch.length());
        System.arraycopy(batch.idsOf(1), 0, rowsJoined, batch.length(), batch.length());
        assertArrayEquals(rowsJoined, batch.ids());
    }

    @Test
    void leftTruncationKeepsClsSepAndTheEndOfALongInstruction() {
        try (QFormerTokenizer shortMax = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER,
                new QFormerTokenizerSpec(8, QFormerTokenizerSpec.BERT_PAD_TOKEN))) {
            String longInstruction = "please ignore all of this preamble and then " + PROMPT;

            long[] ids = shortMax.encode(List.of(longInstruction)).idsOf(0);

            long[] expected = {id("[CLS]"), id("short"), id("description"), id("for"), id("the"), id("image"),
                id("."), id("[SEP]")};
            assertArrayEquals(expected, ids);
        }
    }

    @Test
    void aTextOfExactlyMaxLengthTokensIsKeptWhole() {
        try (QFormerTokenizer exact = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER,
                new QFormerTokenizerSpec(10, QFormerTokenizerSpec.BERT_PAD_TOKEN))) {
            long[] ids = exact.encode(List.of(PROMPT)).idsOf(0);

            assertArrayEquals(tokenizer.encode(List.of(PROMPT)).idsOf(0), ids);
            assertEquals(10, ids.length);
        }
    }

    @Test
    void djlsDefaultTruncationAt512TokensIsOff() {
        String longText = "word ".repeat(600);
        try (QFormerTokenizer wide = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER,
                new QFormerTokenizerSpec(1000, QFormerTokenizerSpec.BERT_PAD_TOKEN))) {
            assertEquals(602, wide.encode(List.of(longText)).length());
        }
    }

    @Test
    void truncationAndPaddingDeclaredInsideTokenizerJsonAreIgnored(@TempDir Path dir) throws IOException {
        ObjectNode json = (ObjectNode) TokenizerFixtures.json().readTree(TokenizerFixtures.BERT_TOKENIZER.toFile());
        json.set("truncation", TokenizerFixtures.json().readTree(
                "{\"direction\":\"Right\",\"max_length\":4,\"strategy\":\"LongestFirst\",\"stride\":0}"));
        json.set("padding", TokenizerFixtures.json().readTree(
                "{\"strategy\":{\"Fixed\":64},\"direction\":\"Right\",\"pad_to_multiple_of\":null,"
                        + "\"pad_id\":0,\"pad_type_id\":0,\"pad_token\":\"[PAD]\"}"));
        Path configured = dir.resolve("tokenizer.json");
        TokenizerFixtures.json().writeValue(configured.toFile(), json);

        try (QFormerTokenizer fromConfigured = QFormerTokenizer.load(configured, TokenizerFixtures.lavisQFormer())) {
            assertEquals(tokenizer.encode(List.of(PROMPT)), fromConfigured.encode(List.of(PROMPT)));
        }
    }

    @Test
    void concurrentEncodesGiveTheSameIdsAsSequentialOnes() throws Exception {
        List<String> texts = new ArrayList<>();
        for (TokenizerFixtures.BertCase c : TokenizerFixtures.bertCases()) {
            texts.add(c.text());
        }
        List<TokenizedBatch> sequential = new ArrayList<>();
        for (String text : texts) {
            sequential.add(tokenizer.encode(List.of(text)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<TokenizedBatch>> futures = new ArrayList<>();
            for (int round = 0; round < 20; round++) {
                for (String text : texts) {
                    futures.add(pool.submit(() -> tokenizer.encode(List.of(text))));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(sequential.get(i % texts.size()), futures.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anEmptyBatchIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.encode(List.of()));
    }

    @Test
    void encodingAfterCloseFailsCleanly() {
        QFormerTokenizer closed = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER, TokenizerFixtures.lavisQFormer());
        closed.close();
        closed.close();

        assertThrows(IllegalStateException.class, () -> closed.encode(List.of(PROMPT)));
    }

    @Test
    void aMissingFileNamesThePath(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-tokenizer.json");

        TokenizerLoadException e = assertThrows(TokenizerLoadException.class,
                () -> QFormerTokenizer.load(missing, TokenizerFixtures.lavisQFormer()));

        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertEquals(missing, e.file());
    }

    @Test
    void aFileThatIsNotJsonNamesThePathAndTheCause(@TempDir Path dir) throws IOException {
        Path broken = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": ");

        TokenizerLoadException e = assertThrows(TokenizerLoadException.class,
                () -> QFormerTokenizer.load(broken, TokenizerFixtures.lavisQFormer()));

        assertTrue(e.getMessage().contains(broken.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void jsonTheTokenizersLibraryRejectsNamesThePathAndTheCause(@TempDir Path dir) throws IOException {
        Path notATokenizer = Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"[PAD]\": 0}}}");

        TokenizerLoadException e = assertThrows(TokenizerLoadException.class,
                () -> QFormerTokenizer.load(notATokenizer, TokenizerFixtures.lavisQFormer()));

        assertTrue(e.getMessage().contains(notATokenizer.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("rejects"), e.getMessage());
    }

    @Test
    void aPadTokenTheTokenizerLacksIsALoadError() {
        TokenizerLoadException e = assertThrows(TokenizerLoadException.class,
                () -> QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER, new QFormerTokenizerSpec(128, "<pad>")));

        assertTrue(e.getMessage().contains("<pad>"), e.getMessage());
    }

    @Test
    void aMaxLengthWithNoRoomForTextIsALoadError() {
        assertThrows(TokenizerLoadException.class, () -> QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER,
                new QFormerTokenizerSpec(2, QFormerTokenizerSpec.BERT_PAD_TOKEN)));
    }
}

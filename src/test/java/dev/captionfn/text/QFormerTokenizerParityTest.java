package dev.captionfn.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.captionfn.text.TokenizerFixtures.BertCase;
import dev.captionfn.text.TokenizerFixtures.BertKnownDifference;

import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * bert-base-uncased through tokenizer.json and DJL gives the ids of Google BERT's reference
 * WordPiece algorithm (which HF's BertTokenizer, LAVIS's Q-Former tokenizer, reproduces).
 */
class QFormerTokenizerParityTest {

    private static QFormerTokenizer lavis;
    private static QFormerTokenizer untruncated;

    @BeforeAll
    static void load() {
        lavis = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER, TokenizerFixtures.lavisQFormer());
        untruncated = QFormerTokenizer.load(TokenizerFixtures.BERT_TOKENIZER,
                new QFormerTokenizerSpec(4096, QFormerTokenizerSpec.BERT_PAD_TOKEN));
    }

    @AfterAll
    static void close() {
        lavis.close();
        untruncated.close();
    }

    static List<BertCase> cases() {
        return TokenizerFixtures.bertCases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lavisInputIdsEqualTheReference(BertCase reference) {
        TokenizedBatch batch = lavis.encode(List.of(reference.text()));

        assertArrayEquals(reference.inputIds(), batch.idsOf(0), reference.text());
        assertEquals(reference.inputIds().length, batch.tokenCount(0), "every position is a token");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void wordpieceIdsEqualTheReferenceWithoutTruncation(BertCase reference) {
        long[] ids = untruncated.encode(List.of(reference.text())).idsOf(0);

        assertArrayEquals(reference.wordpieceIds(), Arrays.copyOfRange(ids, 1, ids.length - 1), reference.text());
    }

    static List<BertKnownDifference> knownDifferences() {
        return TokenizerFixtures.bertKnownDifferences();
    }

    /**
     * The one kind of input found to differ: a private-use character (category Co). HF tokenizers'
     * BertNormalizer removes every "Other" character, Google's reference (and HF's Python
     * BertTokenizer, which LAVIS uses) removes only Cc and Cf, keeps the Co character, and so turns
     * its word into [UNK]. Left as the library does it: private-use characters carry no meaning
     * the Q-Former could use, and either way the word is lost.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("knownDifferences")
    void knownDifferenceFromTheReferenceIsExactlyTheDocumentedOne(BertKnownDifference difference) {
        long[] ids = lavis.encode(List.of(difference.text())).idsOf(0);

        assertArrayEquals(difference.libraryInputIds(), ids, difference.why());
        assertFalse(Arrays.equals(difference.referenceInputIds(), ids), difference.why());
    }

    @Test
    void theReferenceSetExercisesLeftTruncation() {
        int maxLength = TokenizerFixtures.bertMaxLength();
        BertCase longest = cases().stream()
                .filter(c -> c.wordpieceIds().length > maxLength)
                .findFirst()
                .orElseThrow();
        long[] ids = lavis.encode(List.of(longest.text())).idsOf(0);
        long[] content = longest.wordpieceIds();

        assertEquals(maxLength, ids.length);
        assertArrayEquals(Arrays.copyOfRange(content, content.length - (maxLength - 2), content.length),
                Arrays.copyOfRange(ids, 1, maxLength - 1), "the end of the text survives");
    }
}

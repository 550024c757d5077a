package dev.captionfn.text;

import java.util.Arrays;
import java.util.List;

/**
 * The Q-Former tokenizer's output for a batch of texts: token ids and attention mask, each a
 * row-major {@code [batchSize, length]} int64 matrix in one flat array: row {@code b}, column
 * {@code t} sits at {@code b * length + t}. Rows are right-padded to the longest.
 *
 * <p>Flat and int64 because that is the layout of the vision graph's Q-Former text inputs, which
 * ONNX Runtime's Java API takes without detours: {@code OnnxTensor.createTensor(env,
 * LongBuffer.wrap(ids), shape)} copies the array once into native memory, where a {@code long[][]}
 * would go through its reflective multi-dimensional path first. The mask covers the text only; the
 * Q-Former's query tokens are masked inside the vision graph, as in HF's InstructBLIP.
 *
 * <p>The arrays belong to the batch and are not copied: callers read them and must not change them.
 *
 * @param ids token ids, padded on the right with the tokenizer's pad id
 * @param attentionMask 1 where {@code ids} holds a token, 0 where it holds padding
 * @param batchSize number of rows, one per input text
 * @param length number of columns: the longest row's token count
 */
public record TokenizedBatch(long[] ids, long[] attentionMask, int batchSize, int length) {

    public TokenizedBatch {
        if (batchSize < 1 || length < 0) {
            throw new IllegalArgumentException("Bad batch shape [" + batchSize + ", " + length + "]");
        }
        if (ids.length != batchSize * length || attentionMask.length != ids.length) {
            throw new IllegalArgumentException("Arrays of " + ids.length + " ids and " + attentionMask.length
                    + " mask values do not fill [" + batchSize + ", " + length + "]");
        }
    }

    /**
     * Rows of ids padded on the right to the longest with {@code padId}, as HF's tokenizers pad
     * with {@code padding="longest"}: the one place a batch's rows are padded, whether a tokenizer
     * encodes them together or the model puts together the rows of requests tokenized one by one.
     */
    public static TokenizedBatch rightPadded(List<long[]> rows, long padId) {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("No rows to pad");
        }
        int length = rows.stream().mapToInt(row -> row.length).max().orElse(0);
        long[] ids = new long[rows.size() * length];
        long[] mask = new long[rows.size() * length];
        Arrays.fill(ids, padId);
        for (int i = 0; i < rows.size(); i++) {
            long[] row = rows.get(i);
            System.arraycopy(row, 0, ids, i * length, row.length);
            Arrays.fill(mask, i * length, i * length + row.length, 1L);
        }
        return new TokenizedBatch(ids, mask, rows.size(), length);
    }

    /** The ONNX tensor shape, {@code [batchSize, length]}. */
    public long[] shape() {
        return new long[] {batchSize, length};
    }

    /** A copy of one row's ids, padding included. */
    public long[] idsOf(int row) {
        return Arrays.copyOfRange(ids, start(row), start(row) + length);
    }

    /** A copy of one row's attention mask. */
    public long[] maskOf(int row) {
        return Arrays.copyOfRange(attentionMask, start(row), start(row) + length);
    }

    /** How many real tokens (not padding) a row holds. */
    public int tokenCount(int row) {
        int count = 0;
        for (int i = start(row); i < start(row) + length; i++) {
            count += (int) attentionMask[i];
        }
        return count;
    }

    private int start(int row) {
        if (row < 0 || row >= batchSize) {
            throw new IndexOutOfBoundsException("Row " + row + " of a batch of " + batchSize);
        }
        return row * length;
    }

    // A record's generated equals compares array references; a batch is a value.
    @Override
    public boolean equals(Object other) {
        return other instanceof TokenizedBatch that
                && batchSize == that.batchSize
                && length == that.length
                && Arrays.equals(ids, that.ids)
                && Arrays.equals(attentionMask, that.attentionMask);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(ids) + Arrays.hashCode(attentionMask)) + batchSize;
    }

    @Override
    public String toString() {
        return "TokenizedBatch[" + batchSize + "x" + length + ", ids=" + Arrays.toString(ids)
                + ", attentionMask=" + Arrays.toString(attentionMask) + "]";
    }
}

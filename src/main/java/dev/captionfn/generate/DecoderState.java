package dev.captionfn.generate;

/**
 * The model side of generation, after onnxruntime-genai's seam between search and model state: the
 * state owns the sessions, the attention masks, the positions and the KV cache; the search sees
 * only logits, tokens and the rows they came from.
 */
public interface DecoderState extends AutoCloseable {
    /** Running rows. */
    int rows();

    /** Logit columns per row (the LM head's width, which may exceed the vocabulary). */
    int width();

    /** The last position's logits of every row, row-major: row r at [r * width(), (r + 1) * width()). */
    float[] logits();

    /**
     * Moves to the next step: new row i continues old row {@code sourceRows[i]} (rows may repeat,
     * and rows not named leave the batch) with token {@code tokens[i]}; the KV cache is reordered to
     * match, then the decoder runs once.
     */
    void advance(int[] sourceRows, long[] tokens);

    @Override
    void close();
}

package dev.captionfn.generate;

/** Says when a row's sequence is complete, as HF transformers' StoppingCriteria. */
interface StoppingCriteria {
    /** @param generated the row's generated tokens, {@code length} of them valid */
    boolean isDone(long[] generated, int length);
}

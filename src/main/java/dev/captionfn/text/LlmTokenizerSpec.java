package dev.captionfn.text;

/**
 * The language model's token conventions, which come from the model (its {@code model.json}) and
 * not from {@code tokenizer.json}: tokenizer files often disagree with what the model was trained
 * with (LAVIS feeds Vicuna {@code </s>} as BOS; the phi3/LLaMA tokenizer.json here does not even
 * mark {@code </s>} as special).
 *
 * @param addBos whether a prompt starts with {@code bosId}
 * @param bosId the id put before the prompt
 * @param eosId the id that ends generation; skipped when decoding
 * @param padId the id of padding; skipped when decoding
 */
public record LlmTokenizerSpec(boolean addBos, long bosId, long eosId, long padId) {

    public LlmTokenizerSpec {
        if (bosId < 0 || eosId < 0 || padId < 0) {
            throw new IllegalArgumentException(
                    "Token ids must not be negative: bos " + bosId + ", eos " + eosId + ", pad " + padId);
        }
    }
}

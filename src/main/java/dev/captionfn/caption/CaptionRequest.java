package dev.captionfn.caption;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;

/**
 * A request to caption one image. Read from JSON only through {@link RequestJson}, whose strict
 * reading (wrong types are INVALID_REQUEST, never coerced) is also this record's deserializer.
 *
 * @param imageUrl required, http or https
 * @param prompt the instruction; the model's default prompt when absent
 * @param id the caller's correlation id; generated when absent
 * @param options generation options; the model's defaults when absent
 */
@JsonDeserialize(using = RequestJson.Strict.class)
public record CaptionRequest(String imageUrl, String prompt, String id, CaptionOptions options) {

    /**
     * This request, known by {@code id} unless it names its own: the id of the event, record or
     * message that carried it, so that its answer correlates with what the caller sent.
     */
    public CaptionRequest orId(String id) {
        return this.id != null ? this : new CaptionRequest(imageUrl, prompt, id, options);
    }
}

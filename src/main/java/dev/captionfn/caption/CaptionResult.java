package dev.captionfn.caption;

/**
 * A caption.
 *
 * @param model the id of the model that wrote it (model.json's id)
 * @param prompt the instruction it answered
 */
public record CaptionResult(String id, String imageUrl, String caption, String model, String prompt, Timings timings) {}

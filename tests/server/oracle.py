"""Oracle outcomes produced by Flipt's own Rust engine (flipt-client 1.4.5; flipt-clients §7), for the ns1
fixture in data/ns1.yaml. Expectations from an independent implementation, not from ours."""

from __future__ import annotations

# entity -> ((bool-rollout enabled, reason), (bool-rollout-on enabled, reason), variant-seg, variant-seg-dflt)
# for context {} (boolean flags) and {"plan": "pro"} (variant flags).
USERS: dict[str, tuple[tuple[bool, str], tuple[bool, str], str, str]] = {
    "user-1": ((False, "DEFAULT_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "green", "blue"),
    "user-2": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "blue", "blue"),
    "user-3": ((False, "DEFAULT_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "green", "green"),
    "user-4": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "green", "green"),
    "user-5": ((False, "DEFAULT_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "blue", "blue"),
    "user-6": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "green", "green"),
    "user-7": ((False, "DEFAULT_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "green", "green"),
    "user-8": ((True, "MATCH_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "blue", "blue"),
    "user-9": ((True, "MATCH_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "blue", "blue"),
    "user-10": ((False, "DEFAULT_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "blue", "blue"),
    "user-11": ((False, "DEFAULT_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "green", "green"),
    "user-12": ((False, "DEFAULT_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "blue", "blue"),
    "user-13": ((True, "MATCH_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "green", "green"),
    "user-14": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "green", "blue"),
    "user-15": ((True, "MATCH_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "blue", "green"),
    "user-16": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "green", "green"),
    "user-17": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "green", "blue"),
    "user-18": ((True, "MATCH_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "green", "blue"),
    "user-19": ((True, "MATCH_EVALUATION_REASON"), (False, "MATCH_EVALUATION_REASON"), "blue", "blue"),
    "user-20": ((True, "MATCH_EVALUATION_REASON"), (True, "DEFAULT_EVALUATION_REASON"), "blue", "blue"),
}

# str(i) for i in 0..999: bool-rollout with context {} ("1" = enabled) and variant-seg with plan=pro ("b" = blue).
BOOL_1000 = (
    "0010111101010000000000100010101000110000100011101111100001100100001001100111000001011001111011101111"
    "0110010011011000011000110100100101000110110010101000110011111000000001100001110011010111010110111001"
    "0110110011011110011000001110010000001010111100010000110010001010011011011100010001010010011000010001"
    "0100010000001000010010110110110000001111101111010011100110111010111011101100011111010011111111111000"
    "0011001100001101100110000101001100001010111011010101010100001001100100100001100100001110011001111001"
    "0110001001001110100111000011011001100000101010001011100100100001011011101011101101001101111001100110"
    "1000011100110100111010000111110001010011011000100000011001000010011100000110011101010011000011011010"
    "1011010110100001001001101101010010100100001000010111011000000010110100111011011000100100011110110110"
    "0100101111000011000111011011100100100011001011111000100011100001100000100010111011101001001000101000"
    "0010011110010000111001110011010001011110111001011001110101110010011010010010100110101000101000000100"
)

VARIANT_1000 = (
    "gggbgbggbgbbgbgbgbgbbggbggbggbggggbbbgbbgbgbgggbgbbbgggbggbggbgggbgggbbbggggbgbbbggbgbggbbbbggbgbbgg"
    "bgbbbbggbbbbbbbgbbbbbbgbgggbbgbbbbgbggggbgbgbbbgbgbbbbbgbbgbgggbbbbbbgbbggbgbbbgbggbbggbgbbbbggbgggb"
    "gbggbbggggbggbggbbbgggbggggbggbbbbbgbbbbbggbbbgbbgbbggbgbgbgbggbggbbbbbgbgbggbgbbbbgbggbbgbbbbbgbbgg"
    "gbbgbbbbgbbggbggggggbbggbbggbggbbbgbbbgggggbggbbgbbbgggbbgggbgbggbgbbbggggbbbggbgggbbgbbgggbggbgbggb"
    "gbgbggbbgbggbbbbggbbbbgbbbbbgbbgggbggbgggggbgbggbggbbbbgbgggbgbbbbbbbggbggbbbgbbgbgbbbgggggbgbgbbgbg"
    "gbbgbgggbgbgbgbgbbbggbgbgbgbbbgbgggbggbbgbggbbgbgbbbbbbbbgbbbgbbbbggggggbgbbgbgggbbbbbgbggbbgggbgbbg"
    "bbbbgggggbggggbggbbgbggbbbgbgbbbbgbggggbbbbbgbgggbgbgggbgbbgbgbbgggbbgbbbgggbbbbgggbbbgbbgbbgggbgggg"
    "bgbggbgbggbbggggbbbbbgggggbgbggbgggbbgbgggbgbbgbbgbgggbgbbgbbgbbbgbggbbbbbbbbgggbbbgbbbbbbgggbgggbbg"
    "gggbbgbbggbbbbbbggbgbbbggbbbggbggbggbggbbbggbggbbbgbbggbbbgbggggbgggbbbbbbbbbbbbbggbbbbbggbbbbbggbbb"
    "gbbgbbbbggbggbgbggbgbgbbgbbbbggbbbbgbgggggbggggggbbbbbgggbggggbbggbgbbbgbgbbbgbgbbbbgbgbgggbbgbbbgbb"
)

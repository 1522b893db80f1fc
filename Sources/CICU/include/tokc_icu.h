#ifndef TOKC_ICU_H
#define TOKC_ICU_H

// A plain-C face over the system ICU. Only C types cross this header: Swift must never see ICU's own
// headers, which clash with the copy Foundation carries on Linux (see DESIGN.md, "Native dependencies").

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The normalisation forms tokc offers. Values are stable: they cross the C boundary.
typedef enum {
    TOKC_ICU_NFC = 1,
    TOKC_ICU_NFD = 2,
    TOKC_ICU_NFKC = 3,
    TOKC_ICU_NFKD = 4,
    TOKC_ICU_NFKC_CASEFOLD = 5,
    TOKC_ICU_LOWERCASE = 6,
    TOKC_ICU_CASEFOLD = 7,
    // The four normalisation forms as of Unicode 9.0, as Hugging Face tokenizers' normalisers run them (its
    // tables are 9.0's): code points assigned later are left as they are and compose with nothing.
    TOKC_ICU_NFC_UNICODE9 = 8,
    TOKC_ICU_NFD_UNICODE9 = 9,
    TOKC_ICU_NFKC_UNICODE9 = 10,
    TOKC_ICU_NFKD_UNICODE9 = 11,
} tokc_icu_form;

/// Transforms `length` bytes of UTF-8 at `text` by `form`. Ill-formed UTF-8 becomes U+FFFD first.
/// On success returns 0 and sets `*out` to a malloc'ed buffer of `*out_length` bytes (free it with
/// `tokc_icu_free`); `*out` may be NULL when `*out_length` is 0. On failure returns the ICU error code (> 0).
int32_t tokc_icu_transform(tokc_icu_form form, const uint8_t *text, int64_t length,
                           uint8_t **out, int64_t *out_length);

/// What `tokc_icu_boundaries` breaks text into.
typedef enum {
    /// Extended grapheme clusters (user-perceived characters), UAX #29.
    TOKC_ICU_GRAPHEMES = 0,
    /// Words, by ICU's dictionary-based word break iterator for the locale.
    TOKC_ICU_WORDS = 1,
    /// Only the word segments of `TOKC_ICU_WORDS` (those ICU's rules tag as letters, numbers, kana or
    /// ideographs, not spaces or punctuation), as (start, end) pairs of offsets.
    TOKC_ICU_WORD_SPANS = 2,
} tokc_icu_break_kind;

/// Boundaries of UTF-8 text, as byte offsets: grapheme clusters, or words by ICU's dictionary-based word
/// break iterator for `locale` ("ja", "zh", "th", "" for the root locale). Ill-formed UTF-8 sequences are
/// kept as they are. On success returns 0 and sets `*offsets` to a malloc'ed array of `*count` offsets,
/// always starting with 0 and ending with `length` (for `TOKC_ICU_WORD_SPANS`: starts and ends of the words
/// in pairs, possibly none). On failure returns the ICU error code (> 0).
int32_t tokc_icu_boundaries(tokc_icu_break_kind kind, const char *locale, const uint8_t *text, int64_t length,
                            int64_t **offsets, int64_t *count);

/// The name of an ICU error code, e.g. "U_ILLEGAL_ARGUMENT_ERROR". Static storage: do not free.
/// Fills `bitmap` (8,192 bytes: one bit per code point of the Basic Multilingual Plane, bit `c & 7` of byte
/// `c >> 3`) with the code points that are normalised alone and stay so next to anything: quick check "yes" for
/// `form` (one of the NFC/NFD/NFKC/NFKD forms) and combining class 0. A text of such code points only is in the
/// form already. Returns 0, or an ICU error code.
int32_t tokc_icu_quick_yes_bitmap(tokc_icu_form form, uint8_t *bitmap);
int32_t tokc_icu_quick_yes_bitmap_by_property(tokc_icu_form form, uint8_t *bitmap);

const char *tokc_icu_error_name(int32_t code);

/// The version of the ICU library loaded at run time, e.g. "72.1". Static storage: do not free.
const char *tokc_icu_version(void);

void tokc_icu_free(void *pointer);

/// The Unicode script of a code point (ICU's UScriptCode: 0 Common, 1 Inherited, 17 Han, 20 Hiragana,
/// 22 Katakana, ...), or -1.
int32_t tokc_icu_script(uint32_t code_point);

#ifdef __cplusplus
}
#endif

#endif

#include "tokc_icu.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <pthread.h>
#include <unicode/uchar.h>
#include <unicode/ucpmap.h>
#include <unicode/uset.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/uversion.h>

// ICU works in UTF-16: every transform goes UTF-8 -> UTF-16 -> transform -> UTF-8, each step sized by a
// preflight call, so no length is ever guessed.

static int32_t utf8_to_utf16(const uint8_t *text, int32_t length, UChar **out, int32_t *out_length) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t needed = 0;
    u_strFromUTF8WithSub(NULL, 0, &needed, (const char *)text, length, 0xFFFD, NULL, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return status;
    UChar *buffer = (UChar *)malloc(sizeof(UChar) * (size_t)(needed + 1));
    if (buffer == NULL) return U_MEMORY_ALLOCATION_ERROR;
    status = U_ZERO_ERROR;
    u_strFromUTF8WithSub(buffer, needed + 1, out_length, (const char *)text, length, 0xFFFD, NULL, &status);
    if (U_FAILURE(status)) { free(buffer); return status; }
    *out = buffer;
    return 0;
}

static int32_t utf16_to_utf8(const UChar *text, int32_t length, uint8_t **out, int64_t *out_length) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t needed = 0;
    u_strToUTF8(NULL, 0, &needed, text, length, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return status;
    char *buffer = (char *)malloc((size_t)needed + 1);
    if (buffer == NULL) return U_MEMORY_ALLOCATION_ERROR;
    status = U_ZERO_ERROR;
    int32_t written = 0;
    u_strToUTF8(buffer, needed + 1, &written, text, length, &status);
    if (U_FAILURE(status)) { free(buffer); return status; }
    *out = (uint8_t *)buffer;
    *out_length = written;
    return 0;
}

// The characters Unicode 9.0 had assigned, and the four forms filtered to them (ICU's FilteredNormalizer2: other
// characters are copied and end the spans it normalises). Made once; ICU normalisers are then thread-safe.
static const UNormalizer2 *unicode9[4];
static UErrorCode unicode9_status = U_ZERO_ERROR;
static pthread_once_t unicode9_once = PTHREAD_ONCE_INIT;

static void make_unicode9(void) {
    UErrorCode status = U_ZERO_ERROR;
    static const UChar pattern[] = u"[:age=9.0:]";
    USet *assigned = uset_openPattern(pattern, -1, &status);
    if (U_FAILURE(status)) { unicode9_status = status; return; }
    uset_freeze(assigned);
    const UNormalizer2 *bases[4] = {
        unorm2_getNFCInstance(&status), unorm2_getNFDInstance(&status),
        unorm2_getNFKCInstance(&status), unorm2_getNFKDInstance(&status),
    };
    for (int i = 0; i < 4 && U_SUCCESS(status); i++) {
        unicode9[i] = unorm2_openFiltered(bases[i], assigned, &status);
    }
    // The set and the filtered normalisers live as long as the process.
    unicode9_status = status;
}

// Runs one UTF-16 -> UTF-16 transform with ICU's preflight convention.
static int32_t transform16(tokc_icu_form form, const UChar *src, int32_t length, UChar **out, int32_t *out_length) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = NULL;
    switch (form) {
    case TOKC_ICU_NFC: normalizer = unorm2_getNFCInstance(&status); break;
    case TOKC_ICU_NFD: normalizer = unorm2_getNFDInstance(&status); break;
    case TOKC_ICU_NFKC: normalizer = unorm2_getNFKCInstance(&status); break;
    case TOKC_ICU_NFKD: normalizer = unorm2_getNFKDInstance(&status); break;
    case TOKC_ICU_NFKC_CASEFOLD: normalizer = unorm2_getNFKCCasefoldInstance(&status); break;
    case TOKC_ICU_LOWERCASE: case TOKC_ICU_CASEFOLD: break;
    case TOKC_ICU_NFC_UNICODE9: case TOKC_ICU_NFD_UNICODE9: case TOKC_ICU_NFKC_UNICODE9: case TOKC_ICU_NFKD_UNICODE9:
        pthread_once(&unicode9_once, make_unicode9);
        if (U_FAILURE(unicode9_status)) return unicode9_status;
        normalizer = unicode9[form - TOKC_ICU_NFC_UNICODE9];
        break;
    default: return U_ILLEGAL_ARGUMENT_ERROR;
    }
    if (U_FAILURE(status)) return status;

    int32_t capacity = length + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        UChar *buffer = (UChar *)malloc(sizeof(UChar) * (size_t)capacity);
        if (buffer == NULL) return U_MEMORY_ALLOCATION_ERROR;
        status = U_ZERO_ERROR;
        int32_t needed;
        if (normalizer != NULL) {
            needed = unorm2_normalize(normalizer, src, length, buffer, capacity, &status);
        } else if (form == TOKC_ICU_LOWERCASE) {
            needed = u_strToLower(buffer, capacity, src, length, "", &status);
        } else {
            needed = u_strFoldCase(buffer, capacity, src, length, U_FOLD_CASE_DEFAULT, &status);
        }
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            free(buffer);
            capacity = needed + 1;
            continue;
        }
        if (U_FAILURE(status)) { free(buffer); return status; }
        *out = buffer;
        *out_length = needed;
        return 0;
    }
    return U_INTERNAL_PROGRAM_ERROR;
}

int32_t tokc_icu_quick_yes_bitmap(tokc_icu_form form, uint8_t *bitmap) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = NULL;
    switch (form) {
    case TOKC_ICU_NFC: case TOKC_ICU_NFC_UNICODE9: normalizer = unorm2_getNFCInstance(&status); break;
    case TOKC_ICU_NFD: case TOKC_ICU_NFD_UNICODE9: normalizer = unorm2_getNFDInstance(&status); break;
    case TOKC_ICU_NFKC: case TOKC_ICU_NFKC_UNICODE9: normalizer = unorm2_getNFKCInstance(&status); break;
    case TOKC_ICU_NFKD: case TOKC_ICU_NFKD_UNICODE9: normalizer = unorm2_getNFKDInstance(&status); break;
    default: return U_ILLEGAL_ARGUMENT_ERROR;
    }
    if (U_FAILURE(status)) return status;
    memset(bitmap, 0, 8192);
    for (UChar32 c = 0; c < 0x10000; c++) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        UChar unit = (UChar)c;
        if (unorm2_getCombiningClass(normalizer, c) != 0) continue;
        if (unorm2_quickCheck(normalizer, &unit, 1, &status) != UNORM_YES || U_FAILURE(status)) { status = U_ZERO_ERROR; continue; }
        bitmap[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    return 0;
}

// Sets (`set` 1) or clears (0) the bits of the code points below 0x10000 whose value in `map` equals `match`
// (with `equal` 0: differs from it), a range of equal values at a time.
static int32_t mark_ranges(const UCPMap *map, uint32_t match, int equal, int set, uint8_t *bitmap) {
    UChar32 start = 0;
    while (start < 0x10000) {
        uint32_t value = 0;
        UChar32 end = ucpmap_getRange(map, start, UCPMAP_RANGE_NORMAL, 0, NULL, NULL, &value);
        if (end < start) return U_INTERNAL_PROGRAM_ERROR;
        if (end > 0xFFFF) end = 0xFFFF;
        if ((value == match) == (equal != 0)) {
            for (UChar32 c = start; c <= end; c++) {
                if (set) bitmap[c >> 3] |= (uint8_t)(1u << (c & 7));
                else bitmap[c >> 3] &= (uint8_t)~(1u << (c & 7));
            }
        }
        start = end + 1;
    }
    return 0;
}

// The same bitmap from the quick-check property (NFC_Quick_Check and its kin) and the combining class, read as
// ranges of equal values (ICU's UCPMap): a few hundred ranges, where asking both properties of each of the
// 65,536 code points took 13.8M instructions (callgrind), most of an NFC vocabulary's first encode.
// NormalizerTests compares it with the check's at every code point.
int32_t tokc_icu_quick_yes_bitmap_by_property(tokc_icu_form form, uint8_t *bitmap) {
    UProperty property;
    switch (form) {
    case TOKC_ICU_NFC: case TOKC_ICU_NFC_UNICODE9: property = UCHAR_NFC_QUICK_CHECK; break;
    case TOKC_ICU_NFD: case TOKC_ICU_NFD_UNICODE9: property = UCHAR_NFD_QUICK_CHECK; break;
    case TOKC_ICU_NFKC: case TOKC_ICU_NFKC_UNICODE9: property = UCHAR_NFKC_QUICK_CHECK; break;
    case TOKC_ICU_NFKD: case TOKC_ICU_NFKD_UNICODE9: property = UCHAR_NFKD_QUICK_CHECK; break;
    default: return U_ILLEGAL_ARGUMENT_ERROR;
    }
    UErrorCode status = U_ZERO_ERROR;
    const UCPMap *quick = u_getIntPropertyMap(property, &status);
    const UCPMap *combining = u_getIntPropertyMap(UCHAR_CANONICAL_COMBINING_CLASS, &status);
    if (U_FAILURE(status)) return status;
    memset(bitmap, 0, 8192);
    int32_t error = mark_ranges(quick, UNORM_YES, 1, 1, bitmap);
    if (error == 0) error = mark_ranges(combining, 0, 0, 0, bitmap);
    if (error != 0) return error;
    // Surrogate code points are never characters of well-formed text.
    memset(bitmap + (0xD800 >> 3), 0, (0xE000 - 0xD800) >> 3);
    return 0;
}

int32_t tokc_icu_transform(tokc_icu_form form, const uint8_t *text, int64_t length,
                           uint8_t **out, int64_t *out_length) {
    *out = NULL;
    *out_length = 0;
    if (length < 0 || length > INT32_MAX / 2) return U_INDEX_OUTOFBOUNDS_ERROR;
    if (length == 0) return 0;
    UChar *utf16 = NULL;
    int32_t utf16_length = 0;
    int32_t error = utf8_to_utf16(text, (int32_t)length, &utf16, &utf16_length);
    if (error != 0) return error;
    UChar *transformed = NULL;
    int32_t transformed_length = 0;
    error = transform16(form, utf16, utf16_length, &transformed, &transformed_length);
    free(utf16);
    if (error != 0) return error;
    error = utf16_to_utf8(transformed, transformed_length, out, out_length);
    free(transformed);
    return error;
}

// Opening a break iterator costs far more than breaking a short piece (it loads and sets up the rules),
// and a pre-tokenizer breaks one piece at a time: each thread keeps its iterator for its last kind and locale.
static __thread UBreakIterator *cached_iterator = NULL;
static __thread UBreakIteratorType cached_type;
static __thread char cached_locale[64];

static UBreakIterator *break_iterator(tokc_icu_break_kind kind, const char *locale, UErrorCode *status) {
    UBreakIteratorType type = kind == TOKC_ICU_GRAPHEMES ? UBRK_CHARACTER : UBRK_WORD;
    if (cached_iterator != NULL && cached_type == type && strncmp(cached_locale, locale, sizeof(cached_locale)) == 0) {
        return cached_iterator;
    }
    if (cached_iterator != NULL) { ubrk_close(cached_iterator); cached_iterator = NULL; }
    if (strlen(locale) >= sizeof(cached_locale)) return ubrk_open(type, locale, NULL, 0, status);
    cached_iterator = ubrk_open(type, locale, NULL, 0, status);
    if (U_FAILURE(*status)) { cached_iterator = NULL; return NULL; }
    cached_type = type;
    strcpy(cached_locale, locale);
    return cached_iterator;
}

int32_t tokc_icu_boundaries(tokc_icu_break_kind kind, const char *locale, const uint8_t *text, int64_t length,
                            int64_t **offsets, int64_t *count) {
    *offsets = NULL;
    *count = 0;
    if (length < 0) return U_INDEX_OUTOFBOUNDS_ERROR;
    UErrorCode status = U_ZERO_ERROR;
    // UText over the UTF-8 bytes themselves, on the stack: the iterator reports native (byte) offsets, no copy.
    UText stack_text = UTEXT_INITIALIZER;
    UText *utext = utext_openUTF8(&stack_text, (const char *)text, length, &status);
    if (U_FAILURE(status)) return status;
    UBreakIterator *iterator = break_iterator(kind, locale, &status);
    if (U_FAILURE(status)) { utext_close(utext); return status; }
    int owned = iterator != cached_iterator;
    ubrk_setUText(iterator, utext, &status);
    if (U_FAILURE(status)) { if (owned) ubrk_close(iterator); utext_close(utext); return status; }
#define RELEASE_ITERATOR() do { if (owned) ubrk_close(iterator); } while (0)

    int64_t capacity = 64, used = 0;
    int64_t *result = (int64_t *)malloc(sizeof(int64_t) * (size_t)capacity);
    if (result == NULL) { RELEASE_ITERATOR(); utext_close(utext); return U_MEMORY_ALLOCATION_ERROR; }
    int words_only = kind == TOKC_ICU_WORD_SPANS;
    int32_t previous = 0;
    for (int32_t boundary = ubrk_first(iterator); boundary != UBRK_DONE; boundary = ubrk_next(iterator)) {
        if (words_only) {
            // The rule status of the segment that ends here: spaces and punctuation are below the limit.
            int32_t start = previous;
            previous = boundary;
            if (boundary == 0 || ubrk_getRuleStatus(iterator) < UBRK_WORD_NONE_LIMIT) continue;
            if (used + 2 > capacity) {
                capacity *= 2;
                int64_t *grown = (int64_t *)realloc(result, sizeof(int64_t) * (size_t)capacity);
                if (grown == NULL) { free(result); RELEASE_ITERATOR(); utext_close(utext); return U_MEMORY_ALLOCATION_ERROR; }
                result = grown;
            }
            result[used++] = start;
            result[used++] = boundary;
            continue;
        }
        if (used == capacity) {
            capacity *= 2;
            int64_t *grown = (int64_t *)realloc(result, sizeof(int64_t) * (size_t)capacity);
            if (grown == NULL) { free(result); RELEASE_ITERATOR(); utext_close(utext); return U_MEMORY_ALLOCATION_ERROR; }
            result = grown;
        }
        result[used++] = boundary;
    }
    // The iterator keeps a pointer to the text until it is given another: point it at an empty one.
    UText empty_text = UTEXT_INITIALIZER;
    UErrorCode reset_status = U_ZERO_ERROR;
    if (!owned) ubrk_setUText(iterator, utext_openUTF8(&empty_text, "", 0, &reset_status), &reset_status);
    RELEASE_ITERATOR();
    utext_close(utext);
    if (!words_only && (used == 0 || result[used - 1] != length)) {
        // Empty text yields the single boundary 0; make the contract (first 0, last length) hold always.
        if (used == capacity) {
            int64_t *grown = (int64_t *)realloc(result, sizeof(int64_t) * (size_t)(capacity + 1));
            if (grown == NULL) { free(result); return U_MEMORY_ALLOCATION_ERROR; }
            result = grown;
        }
        if (used == 0) result[used++] = 0;
        if (result[used - 1] != length) result[used++] = length;
    }
    *offsets = result;
    *count = used;
    return 0;
#undef RELEASE_ITERATOR
}

const char *tokc_icu_error_name(int32_t code) { return u_errorName((UErrorCode)code); }

const char *tokc_icu_version(void) {
    static char text[U_MAX_VERSION_STRING_LENGTH];
    UVersionInfo info;
    u_getVersion(info);
    u_versionToString(info, text);
    return text;
}

void tokc_icu_free(void *pointer) { free(pointer); }

#include <unicode/uscript.h>

int32_t tokc_icu_script(uint32_t code_point) {
    UErrorCode status = U_ZERO_ERROR;
    UScriptCode script = uscript_getScript((UChar32)code_point, &status);
    return U_FAILURE(status) ? -1 : (int32_t)script;
}

// PCRE2 is built for three code-unit widths; tokc matches UTF-8 bytes only.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

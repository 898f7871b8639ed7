/* File: tests/unit/sdk/c_header_test.c
 *
 * Proves provider.h is plain C: this file is compiled by the C compiler with
 * -std=c99 -pedantic, and checks the table layout rules a C plugin relies on. */
#include <switchboard/provider.h>

#include <stdio.h>

static const sb_provider_api kTable = {sizeof(sb_provider_api), SB_ABI_MAJOR, SB_ABI_MINOR,
                                       NULL, NULL, NULL, NULL, NULL};

int main(void) {
  if (offsetof(sb_provider_api, struct_size) != 0) {
    puts("struct_size must come first");
    return 1;
  }
  if (SB_API_HEADER_SIZE > sizeof(sb_provider_api)) {
    puts("version header larger than the table");
    return 1;
  }
  if (sb_has_member(&kTable, chat)) {
    puts("sb_has_member must be false for a NULL member");
    return 1;
  }
  if (SB_EVENT_DELTA == SB_EVENT_DONE || SB_STATUS_OK != 0) {
    puts("event kinds or status codes collide");
    return 1;
  }
  puts("provider.h compiles as C99");
  return 0;
}

/* File: tests/unit/sdk/c_header_test.c
 *
 * Proves provider.h is plain C: this file is compiled by the C compiler with
 * -std=c99 -pedantic, and checks the table layout rules a C plugin relies on. */
#include <switchboard/provider.h>

#include <stdio.h>

static const sb_provider_api kTable = {sizeof(sb_provider_api), SB_ABI_MAJOR, SB_ABI_MINOR,
                                       NULL, NULL, NULL, NULL, NULL, NULL};

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
  {
    /* A 1.0 table (it ends after chat): the 1.1 member embed is not there. */
    sb_provider_api old = kTable;
    old.struct_size = offsetof(sb_provider_api, chat) + sizeof(old.chat);
    old.embed = (sb_status(*)(sb_instance*, const char*, size_t, const sb_host_callbacks*))1;
    if (sb_has_member(&old, embed)) {
      puts("sb_has_member must be false for a member past struct_size");
      return 1;
    }
  }
  if (SB_EVENT_TOOL_CALL == SB_EVENT_ERROR || SB_EVENT_DELTA == SB_EVENT_DONE || SB_STATUS_OK != 0) {
    puts("event kinds or status codes collide");
    return 1;
  }
  puts("provider.h compiles as C99");
  return 0;
}

// File: tests/unit/stream_parsers/openai_chunk_test.cpp
//
// The openai_compatible plugin's chunk reader: a token's chunk is read
// without a JSON document, and everything beyond text and finish_reason is
// handed to the whole parse, never lost. (fuzz_openai_chunk checks the reader
// against nlohmann's own parse on arbitrary input.)
#include "bounded_json.h"
#include "openai_chunk.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::plugins {
namespace {

TEST(OpenAiChunk, AToken_sChunkGivesItsTextAndNothingElse) {
  ChunkFields f;
  ASSERT_EQ(read_chunk(R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",)"
                       R"("choices":[{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}]})",
                       f),
            ChunkRead::Ok);
  EXPECT_TRUE(f.object);
  EXPECT_FALSE(f.needs_dom);
  EXPECT_TRUE(f.has_content);
  EXPECT_EQ(f.content, "tok ");
  EXPECT_FALSE(f.has_finish_reason);
}

TEST(OpenAiChunk, EscapesAndUnicodeEscapesAreDecoded) {
  ChunkFields f;
  ASSERT_EQ(read_chunk(R"({"choices":[{"delta":{"content":"a\"b\\c\n\u00e9\ud83d\ude00"}}]})", f), ChunkRead::Ok);
  EXPECT_EQ(f.content, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(OpenAiChunk, TheLastChunkGivesItsFinishReason) {
  ChunkFields f;
  ASSERT_EQ(read_chunk(R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})", f), ChunkRead::Ok);
  EXPECT_FALSE(f.needs_dom);
  EXPECT_FALSE(f.has_content);
  EXPECT_EQ(f.finish_reason, "length");
}

TEST(OpenAiChunk, UsageErrorsToolCallsAndRepeatedKeysGoToTheWholeParse) {
  for (const char* chunk : {R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}})",
                            R"({"error":{"message":"overloaded"}})",
                            R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]})",
                            R"({"choices":[{"delta":{"content":"x","content":"y"}}]})"}) {
    ChunkFields f;
    ASSERT_EQ(read_chunk(chunk, f), ChunkRead::Ok) << chunk;
    EXPECT_TRUE(f.needs_dom) << chunk;
  }
}

TEST(OpenAiChunk, OnlyTheFirstChoiceCounts) {
  ChunkFields f;
  ASSERT_EQ(read_chunk(R"({"choices":[{"delta":{"content":"first"}},{"delta":{"content":"second"}}]})", f),
            ChunkRead::Ok);
  EXPECT_EQ(f.content, "first");
}

TEST(OpenAiChunk, MalformedOrTooDeepInputIsRefused) {
  ChunkFields f;
  EXPECT_EQ(read_chunk(R"({"choices":[{"delta":{"content":"cut)", f), ChunkRead::NotJson);
  EXPECT_EQ(read_chunk("{\"choices\":[{\"delta\":{\"content\":\"\xe4\xbd\"}}]}", f), ChunkRead::NotJson);
  EXPECT_EQ(read_chunk(R"({"a":1,})", f), ChunkRead::NotJson);
  EXPECT_EQ(read_chunk(std::string(100, '[') + std::string(100, ']'), f), ChunkRead::TooDeep);
  // Numbers that overflow a double are not JSON to the whole parse either.
  EXPECT_EQ(read_chunk(R"({"choices":[{"delta":{"content":"x"}}],"n":8e333})", f), ChunkRead::NotJson);
  EXPECT_EQ(read_chunk(R"({"choices":[{"delta":{"content":"x"}}],"n":1.5e3})", f), ChunkRead::Ok);
  EXPECT_EQ(f.content, "x");
}

TEST(BoundedJson, AnUpstreamsDeeplyNestedJsonIsRefusedBeforeAnythingRecursesOverIt) {
  EXPECT_EQ(parse_bounded(std::string(10, '[') + std::string(10, ']'), "x").size(), 1u);
  try {
    parse_bounded(std::string(5000, '[') + std::string(5000, ']'), "the answer");
    FAIL() << "no error";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), "upstream_protocol");
    EXPECT_NE(std::string(e.what()).find("the answer nests deeper than 64 levels"), std::string::npos) << e.what();
  }
}

TEST(OpenAiChunk, AnythingButAnObjectCarriesNothing) {
  ChunkFields f;
  ASSERT_EQ(read_chunk("[1,2]", f), ChunkRead::Ok);
  EXPECT_FALSE(f.object);
  EXPECT_FALSE(f.has_content);
}

}  // namespace
}  // namespace switchboard::plugins

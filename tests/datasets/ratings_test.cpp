#include "tandem/datasets/ratings.h"

#include <gtest/gtest.h>

#include "test_files.h"

using namespace tandem::datasets;
using namespace tandem::datasets::testing;

TEST(RatingsCsv, ReadsRatings) {
  const auto file = write_file("r.csv",
                               "\"user\",\"item\",\"rating\",\"timestamp\"\n"
                               "1,31,2.5,1260759144\n"
                               "1,1029,3,1260759179\n"
                               "671,6565,3.5,1074784724\n");
  const auto ratings = load_ratings_csv(file);
  ASSERT_EQ(ratings.size(), 3u);
  EXPECT_EQ(ratings[0].user, 1u);
  EXPECT_EQ(ratings[0].item, 31u);
  EXPECT_FLOAT_EQ(ratings[0].rating, 2.5f);
  EXPECT_EQ(ratings[0].timestamp, 1260759144);
  EXPECT_FLOAT_EQ(ratings[1].rating, 3.0f);
  EXPECT_EQ(ratings[2].user, 671u);
}

TEST(RatingsCsv, TimestampColumnIsOptionalAndColumnsMayComeInAnyOrder) {
  const auto file = write_file("r.csv", "rating,item,user\n4,2,3\n");
  const auto ratings = load_ratings_csv(file);
  ASSERT_EQ(ratings.size(), 1u);
  EXPECT_EQ(ratings[0].user, 3u);
  EXPECT_EQ(ratings[0].item, 2u);
  EXPECT_EQ(ratings[0].timestamp, 0);
}

TEST(RatingsCsv, NonNumericRatingNamesTheLine) {
  const auto file = write_file("r.csv", "user,item,rating,timestamp\n1,2,4,0\n1,3,good,0\n");
  expect_line_error([&] { load_ratings_csv(file); }, file, 3, "rating \"good\" is not a number");
}

TEST(RatingsCsv, NumbersWithTrailingTextSpacesOrNothingAreErrors) {
  for (const char* row : {"1,2,4.5 stars,0", "1,2, 4,0", "1,2,,0", "1,2,4,12:30"}) {
    const auto file = write_file("r.csv", std::string("user,item,rating,timestamp\n") + row + "\n");
    expect_line_error([&] { load_ratings_csv(file); }, file, 2, "is not");
  }
}

TEST(RatingsCsv, IdsMustBeUnsigned32BitNumbers) {
  for (const char* row : {"-1,2,4,0", "+1,2,4,0", "4294967296,2,4,0", "1.5,2,4,0"}) {
    const auto file = write_file("r.csv", std::string("user,item,rating,timestamp\n") + row + "\n");
    expect_line_error([&] { load_ratings_csv(file); }, file, 2, "is not a whole number");
  }
}

TEST(RatingsCsv, NonFiniteAndOutOfRangeRatingsAreErrors) {
  const auto nan = write_file("n.csv", "user,item,rating\n1,2,nan\n");
  expect_line_error([&] { load_ratings_csv(nan); }, nan, 2, "is outside");
  const auto inf = write_file("i.csv", "user,item,rating\n1,2,inf\n");
  expect_line_error([&] { load_ratings_csv(inf); }, inf, 2, "is outside");
  const auto high = write_file("h.csv", "user,item,rating\n1,2,5\n1,3,5.5\n");
  expect_line_error([&] { load_ratings_csv(high, {.min_rating = 0.5f, .max_rating = 5.0f}); }, high,
                    3, "rating 5.5 is outside [0.500000, 5.000000]");
}

TEST(RatingsCsv, WrongColumnCountMissingColumnAndEmptyFile) {
  const auto count = write_file("c.csv", "user,item,rating,timestamp\n1,2,3,4\n1,2,3\n");
  expect_line_error([&] { load_ratings_csv(count); }, count, 3, "expected 4 fields, found 3");
  const auto column = write_file("m.csv", "userId,movieId,rating\n1,2,3\n");
  expect_line_error([&] { load_ratings_csv(column); }, column, 1, "no column \"user\"");
  const auto empty = write_file("e.csv", "user,item,rating\n");
  expect_file_error([&] { load_ratings_csv(empty); }, empty, "no ratings");
}

TEST(ItemsCsv, ReadsTitlesWithQuotesCommasAndMissingValues) {
  const auto file = write_file("m.csv",
                               "\"item\",\"title\",\"year\",\"genres\"\n"
                               "1,\"Toy Story\",1995,\"Adventure|Animation\"\n"
                               "7789,\"11'09\"\"01 - September 11\",2002,\"Drama\"\n"
                               "108548,,,\"Comedy\"\n"
                               "5,\"Léon, the Professional\",1994,\"Crime\"\n");
  const auto items = load_items_csv(file);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].title, "Toy Story");
  EXPECT_EQ(items[0].year, 1995);
  EXPECT_EQ(items[0].genres, "Adventure|Animation");
  EXPECT_EQ(items[1].title, "11'09\"01 - September 11");
  EXPECT_EQ(items[2].title, "");
  EXPECT_FALSE(items[2].year.has_value());
  EXPECT_EQ(items[3].title, "Léon, the Professional");
}

TEST(ItemsCsv, RepeatedItemNamesBothLines) {
  const auto file = write_file("m.csv", "item,title,year,genres\n1,a,2000,x\n2,b,2001,y\n1,c,,z\n");
  expect_line_error([&] { load_items_csv(file); }, file, 4,
                    "item 1 appears again (first on line 2)");
}

TEST(ItemsCsv, NonNumericYearIsAnError) {
  const auto file = write_file("m.csv", "item,title,year,genres\n1,a,199x,x\n");
  expect_line_error([&] { load_items_csv(file); }, file, 2, "year \"199x\" is not a whole number");
}

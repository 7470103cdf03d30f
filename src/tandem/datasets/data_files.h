#pragma once
// Where scripts/setup_data.sh prepares the data sets, and the names of the files it writes there
// (data/README.md documents each one). Code that trains or evaluates takes a path from its
// caller; these are the defaults and what the tests look for.
#include <filesystem>

namespace tandem::datasets {

// $TANDEM_DATA when set and non-empty, else $HOME/.cache/tandem/data (the script's default).
// Empty when neither variable is set.
std::filesystem::path data_dir();

namespace files {
inline constexpr const char* kFineFoodsTrain = "fine_foods_train.csv";  // product,text,label
inline constexpr const char* kFineFoodsTest = "fine_foods_test.csv";
inline constexpr const char* kMovieLensRatings = "movielens_ratings.csv";  // user,item,rating,...
inline constexpr const char* kMovieLensMovies = "movielens_movies.csv";    // item,title,year,...
inline constexpr const char* kFashionTrainImages = "fashion-mnist/train-images-idx3-ubyte.gz";
inline constexpr const char* kFashionTrainLabels = "fashion-mnist/train-labels-idx1-ubyte.gz";
inline constexpr const char* kFashionTestImages = "fashion-mnist/t10k-images-idx3-ubyte.gz";
inline constexpr const char* kFashionTestLabels = "fashion-mnist/t10k-labels-idx1-ubyte.gz";
inline constexpr const char* kMnistDigitsImages = "mnist/digits-images-idx3-ubyte";
inline constexpr const char* kMnistDigitsLabels = "mnist/digits-labels-idx1-ubyte";
inline constexpr const char* kGlove100d = "glove_100d.bin";
inline constexpr const char* kLanguageId = "lid.176.ftz";  // fastText model; libfasttext loads it
}  // namespace files

}  // namespace tandem::datasets

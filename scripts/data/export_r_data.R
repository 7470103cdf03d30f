# Exports the R data sets that Tandem trains on to CSV (called by scripts/setup_data.sh).
#
#   Rscript export_r_data.R OUT_DIR
#
# Writes, UTF-8, "\n" line ends, a header row, every text field double-quoted with embedded quotes
# doubled (RFC 4180; write.csv's qmethod "double"), missing values as empty fields:
#   fine_foods_train.csv, fine_foods_test.csv   product,text,label   (modeldata small_fine_foods)
#   movielens_ratings.csv                       user,item,rating,timestamp   (dslabs movielens)
#   movielens_movies.csv                        item,title,year,genres
# Each file is written under a temporary name and renamed, so an interrupted run leaves none half
# written.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript export_r_data.R OUT_DIR")
out <- args[[1]]

write_csv <- function(df, name) {
  tmp <- file.path(out, paste0(".", name, ".tmp"))
  write.csv(df, tmp, row.names = FALSE, fileEncoding = "UTF-8", na = "", eol = "\n")
  if (!file.rename(tmp, file.path(out, name))) stop("cannot rename ", tmp)
}

check <- function(ok, what) if (!isTRUE(ok)) stop("unexpected data: ", what)

data("small_fine_foods", package = "modeldata", envir = environment())
reviews <- function(d) {
  check(all(validUTF8(d$review)), "review text that is not UTF-8")
  data.frame(product = d$product, text = enc2utf8(d$review), label = as.character(d$score),
             stringsAsFactors = FALSE)
}
train <- reviews(training_data)
test <- reviews(testing_data)
check(nrow(train) == 4000 && nrow(test) == 1000, "Fine Foods sizes")
check(setequal(unique(c(train$label, test$label)), c("great", "other")), "Fine Foods labels")
write_csv(train, "fine_foods_train.csv")
write_csv(test, "fine_foods_test.csv")

data("movielens", package = "dslabs", envir = environment())
m <- movielens
check(nrow(m) == 100004, "MovieLens size")
ratings <- data.frame(user = m$userId, item = m$movieId, rating = m$rating,
                      timestamp = m$timestamp)
write_csv(ratings, "movielens_ratings.csv")
movies <- unique(data.frame(item = m$movieId, title = enc2utf8(m$title), year = m$year,
                            genres = as.character(m$genres), stringsAsFactors = FALSE))
movies <- movies[order(movies$item), ]
check(!anyDuplicated(movies$item), "one title per movie")
write_csv(movies, "movielens_movies.csv")

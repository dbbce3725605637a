-- What was posted for a finished video: fal's file as it was, a re-encode that fits the server's upload limit
-- (posted_size and posted_height say what the members got; video_size stays fal's own size), or a link, with the
-- reason when fal's file could not be used (video_problem).
ALTER TABLE jobs ADD COLUMN posted_size INTEGER CHECK (posted_size > 0);
ALTER TABLE jobs ADD COLUMN posted_height INTEGER CHECK (posted_height > 0);
ALTER TABLE jobs ADD COLUMN video_problem TEXT;

// Fixture stub: a built file of the server package (committed on purpose; see .gitignore).
export const server = 'built';

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';

export const INPUT_FILE_ENCODINGS = ['utf-8', 'base64'] as const;

/** One input file of a run (request `files`); its path and size rules are checked by input-files.ts. */
export class InputFileDto {
  /** Relative path in the run's working directory: no `..`, no leading `/`, at most 255 bytes. */
  @ApiProperty({ example: 'data/sales.csv', maxLength: 255 })
  @IsString()
  path: string;

  /** The file's content: text, or base64 with `encoding: "base64"`. */
  @ApiProperty({ example: 'month,total\n1,10\n2,14\n3,9\n' })
  @IsString()
  content: string;

  /** How `content` is written (default `utf-8`). */
  @ApiPropertyOptional({ enum: INPUT_FILE_ENCODINGS, default: 'utf-8' })
  @IsOptional()
  @IsIn(INPUT_FILE_ENCODINGS)
  encoding?: (typeof INPUT_FILE_ENCODINGS)[number];
}
